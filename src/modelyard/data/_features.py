"""The feature code: one function, named in the spec, run by snapshots and by the server alike."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from modelyard._exceptions import DataError, NotFoundError, UsageError

__all__ = ["FeatureCode", "load_feature_code"]


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
        except Exception as exc:
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
        return out


def _first_failing_row(function: Callable[[pd.DataFrame], pd.DataFrame], raw: pd.DataFrame) -> int | None:
    """Bisect to the first row on which ``function`` raises (log2(n) calls); None if no single row does."""

    def fails(lo: int, hi: int) -> bool:
        try:
            function(raw.iloc[lo:hi])
        except Exception:
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
            "(install your package, or run from the folder that holds it)"
        ) from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"data.features {path!r}: module {module_name!r} has no function {name!r}")
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = path
    return FeatureCode(path, function, hashlib.sha256(source.encode()).hexdigest())
