"""The feature code: one function, named in the spec, run by snapshots and by the server alike."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from modelyard._exceptions import DataError, NotFoundError, UsageError
from modelyard._importing import import_failure

__all__ = ["FeatureCode", "check_unique_columns", "in_input_order", "load_feature_code"]


@dataclass(frozen=True)
class FeatureCode:
    """A feature function with its import path and a hash of its module's source (its version)."""

    path: str
    function: Callable[[pd.DataFrame], pd.DataFrame]
    sha256: str

    def apply(self, raw: pd.DataFrame, *, partition: str = "the data", key: str | None = None) -> pd.DataFrame:
        """Run the function on raw rows. When it raises, name the first failing row and the error."""
        try:
            out = self.function(raw)
        except (Exception, SystemExit) as exc:  # sys.exit() in feature code is a failure like any other
            row = _first_failing_row(self.function, raw)
            where = f"row {row}" if row is not None else "these rows"
            ident = ""
            if row is not None and key is not None and key in raw.columns:
                ident = f" ({key}={raw[key].iloc[row]!r})"
            raise DataError(
                f"The feature code {self.path} failed on {partition}, {where}{ident}: "
                f"{type(exc).__name__}: {exc}; fix the function or the row upstream"
            ) from exc
        if not isinstance(out, pd.DataFrame):
            raise DataError(
                f"The feature code {self.path} returned a {type(out).__name__}; it must return a pandas DataFrame"
            )
        if len(out) != len(raw):
            raise DataError(
                f"The feature code {self.path} returned {len(out)} rows for {len(raw)} in {partition}; "
                "it must return one row per input row (filter rows before, not inside, the feature code)"
            )
        return in_input_order(out, raw, self.path, partition)


def in_input_order(out: pd.DataFrame, raw: pd.DataFrame, path: str, where: str = "the data") -> pd.DataFrame:
    """The feature code's output ``out`` with its rows in the order of ``raw``'s, which callers pair
    by position with the key, time and label: as it is when its index is ``raw``'s (O(1) for two
    RangeIndexes, as on a request's rows); put back in order when it holds the same labels in
    another order; a :class:`DataError` naming the feature code ``path`` when its labels are others,
    as no row could then be matched to its key."""
    if out.index.equals(raw.index):
        return out
    positions = out.index.get_indexer(raw.index) if out.index.is_unique and raw.index.is_unique else None
    if positions is not None and (positions >= 0).all():
        return out.take(positions)
    stray = next((label for label in out.index if label not in raw.index), None)
    which = f" (e.g. {stray!r}, not one of the input's)" if stray is not None else " (labels repeated)"
    raise DataError(
        f"The feature code {path} returned rows with another index than its input in {where}"
        f"{which}; keep the input's index (no reset_index or new index), so each row stays with its key"
    )


def check_unique_columns(out: pd.DataFrame, code: FeatureCode) -> None:
    """Refuse feature code output that holds a column twice. Not part of :meth:`FeatureCode.apply`:
    on a fresh frame it costs 10-40 us, which batch callers can afford and a one-row request cannot."""
    if out.columns.has_duplicates:
        twice = sorted({str(c) for c in out.columns[out.columns.duplicated()]})
        raise DataError(
            f"The feature code {code.path} returned column(s) {twice} more than once; "
            "return each column once (drop or rename the copies)"
        )


def _first_failing_row(function: Callable[[pd.DataFrame], pd.DataFrame], raw: pd.DataFrame) -> int | None:
    """Bisect to the first row on which ``function`` raises (log2(n) calls); None if no single row does."""

    def fails(lo: int, hi: int) -> bool:
        try:
            function(raw.iloc[lo:hi])
        except (Exception, SystemExit):
            return True
        return False

    lo, hi = 0, len(raw)
    if hi == 0 or not fails(lo, hi):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(lo, mid):
            hi = mid
        else:
            lo = mid
    return lo if fails(lo, lo + 1) else None


def load_feature_code(path: str | None) -> FeatureCode:
    """Import ``module:function``; with no path, the identity (the raw rows are the inputs)."""
    if path is None:
        return FeatureCode("identity", lambda raw: raw, hashlib.sha256(b"identity").hexdigest())
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotFoundError(
            f"data.features {path!r}: cannot import module {module_name!r} ({exc}); make it importable "
            "(put it in the project folder, install your package, or add its folder to PYTHONPATH)"
        ) from exc
    except (Exception, SystemExit) as exc:  # the module itself is broken: a syntax error, or it raises
        raise UsageError(
            f"data.features {path!r}: importing module {module_name!r} failed: {import_failure(exc)}; fix the module"
        ) from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"data.features {path!r}: module {module_name!r} has no function {name!r}")
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = path
    return FeatureCode(path, function, hashlib.sha256(source.encode()).hexdigest())
