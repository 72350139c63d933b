"""The production sample: a data file (or frame) of raw rows, turned into inputs by the spec's feature code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from modelyard._exceptions import NotFoundError, UsageError
from modelyard.check._params import check_data
from modelyard.registry import read_table

__all__ = ["DEFAULT_DATA", "FeatureCodeError", "Sample", "build_inputs", "read_sample"]

DEFAULT_DATA = Path("data") / "recent.parquet"


@dataclass(frozen=True)
class Sample:
    """Raw rows and where they came from."""

    raw: pd.DataFrame
    ref: str
    prepared: bool = False
    """True for a snapshot: its rows already went through the feature code."""


class FeatureCodeError(Exception):
    """The feature code failed on the sample; the message says how, in one line."""


def read_sample(root: Path, data: pd.DataFrame | str | Path | None) -> Sample:
    """The rows to check with: a DataFrame, a Parquet/CSV path, or ``<root>/data/recent.parquet``."""
    check_data(data)
    if isinstance(data, pd.DataFrame):
        if len(data) == 0:
            raise UsageError(
                f"The 'data' parameter is an empty DataFrame (0 rows, {len(data.columns)} columns); the check needs "
                "production rows to run the model on. Pass a DataFrame of raw production rows, a Parquet/CSV path "
                f"or a snapshot id, or leave data out to use {root / DEFAULT_DATA}"
            )
        return Sample(data, f"DataFrame ({len(data):,} rows)")
    if data is None:
        path = root / DEFAULT_DATA
        if not path.exists():
            raise NotFoundError(
                f"No data to check with: {path} does not exist; pass a Parquet or CSV file of production "
                "rows with --data FILE (data= in Python)"
            )
    else:
        path = Path(data)
        if not path.is_absolute() and not path.exists() and (root / path).exists():
            path = root / path
    try:
        frame = read_table(path)
    except (NotFoundError, UsageError):
        raise
    except Exception as exc:  # a corrupt file: say which and why, no traceback
        raise UsageError(f"Cannot read the data file {path}: {type(exc).__name__}: {_first_line(exc)}") from exc
    if frame.empty:
        raise UsageError(
            f"The data file {path} is empty (0 rows); the check needs production rows to run the model on. "
            "Pass a Parquet/CSV file of raw production rows, a DataFrame of them or a snapshot id"
        )
    return Sample(frame, str(path))


def build_inputs(use_case: Any, raw: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs from raw rows, through ``data.features`` exactly as the server runs it.

    Without feature code the raw rows are the inputs. Raises :class:`FeatureCodeError` when the
    code cannot be imported or fails on these rows.
    """
    ref = use_case.data.features
    if not ref:
        return raw
    from modelyard._exceptions import ModelyardError
    from modelyard.data import load_feature_code

    try:
        func = load_feature_code(ref).function
    except ModelyardError as exc:
        raise FeatureCodeError(exc.message) from exc
    plain = raw.reset_index(drop=True)  # as snapshots and the server call it: rows 0..n-1
    try:
        out = func(plain)
    except KeyError as exc:
        raise FeatureCodeError(
            f"the feature code {ref} failed on the data: it needs column {exc.args[0]!r}, which the data "
            f"does not have; the data has columns {_columns(raw)}"
        ) from exc
    except Exception as exc:
        raise FeatureCodeError(
            f"the feature code {ref} failed on the data: {type(exc).__name__}: {_first_line(exc)}; "
            f"the data has columns {_columns(raw)}"
        ) from exc
    if not isinstance(out, pd.DataFrame):
        raise FeatureCodeError(f"the feature code {ref} must return a DataFrame. Got {type(out).__name__} instead.")
    from modelyard.data._features import in_input_order

    try:
        return in_input_order(out, plain, ref, "the data").set_axis(raw.index)
    except ModelyardError as exc:
        raise FeatureCodeError(exc.message) from exc


def _columns(frame: pd.DataFrame, limit: int = 12) -> str:
    names = [str(c) for c in frame.columns]
    more = f" ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
