"""The evaluation data: read it, run the use case's feature code on raw rows, check labels and scores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.evaluate._errors import EvaluationError
from modelyard.spec import UseCase

__all__ = ["EvaluationData", "check_scores", "default_data_path", "prepare_data", "read_data"]

DEFAULT_DATA = Path("data") / "recent.parquet"


@dataclass(frozen=True)
class EvaluationData:
    """What both models are scored on: inputs, the frame expressions see, labels, times."""

    inputs: pd.DataFrame
    columns: pd.DataFrame
    y: np.ndarray
    time: pd.Series | None
    ref: str

    @property
    def n(self) -> int:
        return len(self.y)


def default_data_path(root: Path) -> Path:
    """``<root>/data/recent.parquet``, or a usage error saying to pass ``--data``."""
    path = root / DEFAULT_DATA
    if not path.is_file():
        raise EvaluationError(
            f"No evaluation data given and {path} does not exist; pass the data with --data FILE "
            "(Parquet or CSV of labelled rows), or data=... in Python"
        )
    return path


def read_data(path: str | Path) -> pd.DataFrame:
    """A Parquet or CSV file as a frame."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"The evaluation data {str(path)!r} does not exist; pass an existing Parquet or CSV file")
    if path.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise EvaluationError(f"The evaluation data must be a .parquet or .csv file. Got {path.name!r} instead.")


def _frame_ref(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return f"frame:sha256:{digest[:16]}"


def _feature_function(use_case: UseCase) -> Any:
    path = use_case.data.features
    if path is None:
        return None
    from modelyard._exceptions import ModelyardError
    from modelyard.data import load_feature_code

    try:
        return load_feature_code(path).function
    except ModelyardError as exc:
        raise EvaluationError(f"Use case {use_case.name!r}: {exc.message}") from None


def prepare_data(use_case: UseCase, data: pd.DataFrame | str | Path) -> EvaluationData:
    """Inputs, labels and times from ``data`` (a frame or a file).

    When the spec names feature code and the data is raw (the code runs on it), the inputs are its
    output; otherwise the data must already hold every input. Cost and filter expressions see the
    raw columns with the inputs laid over them.
    """
    if isinstance(data, pd.DataFrame):
        raw, ref = data, _frame_ref(data)
    else:
        raw, ref = read_data(data), str(Path(data).resolve())
    raw = raw.reset_index(drop=True)
    if len(raw) == 0:
        raise EvaluationError("The evaluation data has no rows; pass labelled rows to evaluate on")
    label = use_case.data.label
    if label not in raw.columns:
        raise EvaluationError(
            f"The evaluation data has no label column {label!r} (data.label in the spec); "
            f"columns present: {', '.join(map(str, raw.columns))}"
        )
    inputs = _inputs(use_case, raw)
    columns = raw.copy()
    for name in inputs.columns:
        columns[name] = inputs[name]
    y = _labels(raw[label], label, use_case.positive_label)
    time = None
    if use_case.data.time and use_case.data.time in raw.columns:
        time = pd.to_datetime(raw[use_case.data.time], errors="coerce")
    return EvaluationData(inputs=inputs, columns=columns, y=y, time=time, ref=ref)


def _inputs(use_case: UseCase, raw: pd.DataFrame) -> pd.DataFrame:
    names = list(use_case.input_names)
    features = _feature_function(use_case)
    problem = None
    if features is not None:
        try:
            out = features(raw)
        except Exception as exc:  # the user's feature code: any failure means 'not raw rows it accepts'
            problem = f"the feature code {use_case.data.features} failed on it ({type(exc).__name__}: {exc})"
        else:
            missing = [n for n in names if n not in out.columns]
            if not missing:
                return out[names]
            problem = f"the feature code's output lacks inputs {missing[:5]}"
    missing = [n for n in names if n not in raw.columns]
    if missing:
        why = f"; {problem}" if problem else ""
        raise EvaluationError(
            f"The evaluation data lacks {len(missing)} input column(s) of use case {use_case.name!r}, "
            f"e.g. {missing[0]!r}{why}; pass raw rows the feature code accepts, or model inputs"
        )
    return raw[names]


def _labels(series: pd.Series, column: str, positive: Any) -> np.ndarray:
    n = len(series)
    missing = series.isna().to_numpy()
    if missing.any():
        raise EvaluationError(
            f"label column {column!r} is missing in {int(missing.sum())} of {n} rows "
            f"(e.g. row {int(np.flatnonzero(missing)[0])}); evaluate on labelled rows only"
        )
    values = pd.unique(series)
    if len(values) > 2:
        counts = series.value_counts()
        extra = counts.index[2:]
        bad = series.isin(extra).to_numpy()
        raise EvaluationError(
            f"label column {column!r} is not binary: {len(values)} distinct values "
            f"({', '.join(repr(_plain(v)) for v in list(values)[:5])}); "
            f"{int(bad.sum())} of {n} rows hold a third value "
            f"(e.g. row {int(np.flatnonzero(bad)[0])}: {_plain(series.iloc[int(np.flatnonzero(bad)[0])])!r}); "
            "map it to two values first"
        )
    y = (series == positive).to_numpy(dtype=bool)
    if y.all() or not y.any():
        only = "positive" if y.all() else "negative"
        raise EvaluationError(
            f"label column {column!r} holds one class only: all {n} rows are {only} "
            f"(value {_plain(series.iloc[0])!r}; positive_label is {positive!r}); "
            "evaluate on data with both classes, or fix positive_label in the spec"
        )
    return y


def check_scores(scores: np.ndarray, who: str, index: pd.Index | None = None) -> np.ndarray:
    """``scores`` when every one is a number in [0, 1]; else an error naming the model, count and example."""
    s = np.asarray(scores, dtype=np.float64)
    bad = ~((s >= 0) & (s <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = _plain(index[i]) if index is not None else i
        raise EvaluationError(
            f"score of {who} is NaN or outside [0, 1] in {int(bad.sum())} of {len(s)} rows "
            f"(e.g. row {row!r}: {float(s[i])!r}); the model must return probabilities of the positive class"
        )
    return s


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages show ``3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value
