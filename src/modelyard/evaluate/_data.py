"""The evaluation data: read it, run the use case's feature code on raw rows, check labels and scores.

Scores may also come already computed: the Parquet output of ``modelyard score`` (a file, or the
folder of part files ``--engine spark`` writes), matched to the evaluation rows by entity key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.data._features import in_input_order
from modelyard.evaluate._errors import EvaluationError
from modelyard.spec import UseCase, parse_expression

__all__ = [
    "MIN_ROWS_PER_CLASS",
    "EvaluationData",
    "Scores",
    "check_scores",
    "default_data_path",
    "evaluation_columns",
    "prepare_data",
    "read_data",
    "read_scores",
]

Scores = pd.DataFrame | str | Path
"""Scored output: a frame, a Parquet file, or a folder of Parquet part files, with ``score`` and ``version``."""

DEFAULT_DATA = Path("data") / "recent.parquet"

MIN_ROWS_PER_CLASS = 10
"""The fewest positive and negative rows an evaluation accepts; below it, it is refused.

A bootstrap can only redraw the rows it has: with one positive that every negative scores under,
each replicate's ROC AUC is 1 (or undefined), so the interval collapses to [1.000, 1.000] and a gate
passes on one customer. Cross-fitting also needs both classes in each half to choose a threshold for
the other. Ten of each (about five per half) is the least at which an interval shows sampling noise
rather than which few rows were drawn; above it the intervals are wide but honest, and the gates
decide.
"""


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


def evaluation_columns(use_case: UseCase) -> list[str]:
    """What an evaluation reads besides the scores: label, time, key and the columns costs and filters name."""
    names = [use_case.data.label, use_case.data.time, use_case.data.entity_key]
    for expression in use_case.costs.expressions().values():
        names += sorted(expression.names)
    for segment in use_case.segments:
        names += sorted(segment.filter_expression.names)
        for text in (segment.costs.model_dump(exclude_none=True) if segment.costs else {}).values():
            if isinstance(text, str):
                names += sorted(parse_expression(text).names)
    return list(dict.fromkeys(n for n in names if n))


def prepare_data(
    use_case: UseCase, data: pd.DataFrame | str | Path, *, inputs: bool = True, ref: str | None = None
) -> EvaluationData:
    """Inputs, labels and times from ``data`` (a frame or a file).

    When the spec names feature code and the data is raw (the code runs on it), the inputs are its
    output; otherwise the data must already hold every input. Cost and filter expressions see the
    raw columns with the inputs laid over them. With ``inputs=False`` (the scores come from scored
    output and no baseline is fitted) the rows are taken to hold the inputs already, as a
    snapshot's do: the feature code does not run and ``inputs`` has no columns. ``ref`` names the
    data in the stored evaluation (by default the file's path, or a hash of the frame).
    """
    if isinstance(data, pd.DataFrame):
        raw, ref = data, ref or _frame_ref(data)
    else:
        raw, ref = read_data(data), ref or str(Path(data).resolve())
    raw = raw.reset_index(drop=True)
    if len(raw) == 0:
        raise EvaluationError("The evaluation data has no rows; pass labelled rows to evaluate on")
    label = use_case.data.label
    if label not in raw.columns:
        raise EvaluationError(
            f"The evaluation data has no label column {label!r} (data.label in the spec); "
            f"columns present: {', '.join(map(str, raw.columns))}"
        )
    model_inputs = _inputs(use_case, raw) if inputs else raw[[]]
    columns = raw.copy()
    for name in model_inputs.columns:
        columns[name] = model_inputs[name]
    y = _labels(raw[label], label, use_case.positive_label)
    _check_class_counts(y, label, use_case.positive_label)
    time = None
    if use_case.data.time and use_case.data.time in raw.columns:
        time = pd.to_datetime(raw[use_case.data.time], errors="coerce")
    return EvaluationData(inputs=model_inputs, columns=columns, y=y, time=time, ref=ref)


def _inputs(use_case: UseCase, raw: pd.DataFrame) -> pd.DataFrame:
    names = list(use_case.input_names)
    features = _feature_function(use_case)
    problem = None
    if features is not None:
        plain = raw.reset_index(drop=True)  # as snapshots and the server call it: rows 0..n-1
        try:
            out = features(plain)
        except Exception as exc:  # the user's feature code: any failure means 'not raw rows it accepts'
            problem = f"the feature code {use_case.data.features} failed on it ({type(exc).__name__}: {exc})"
        else:
            missing = [n for n in names if n not in out.columns] if isinstance(out, pd.DataFrame) else names
            if not missing:  # scores are paired with labels by position: the rows must be in order
                ordered = in_input_order(out, plain, str(use_case.data.features), "the evaluation data")
                return ordered[names].set_axis(raw.index)
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


def _check_class_counts(y: np.ndarray, column: str, positive: Any) -> None:
    """Refuse data with fewer than :data:`MIN_ROWS_PER_CLASS` positive or negative rows."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if min(positives, negatives) >= MIN_ROWS_PER_CLASS:
        return
    raise EvaluationError(
        f"label column {column!r} holds {positives:,} positive ({column} == {_plain(positive)!r}) and "
        f"{negatives:,} negative rows; an evaluation needs at least {MIN_ROWS_PER_CLASS} of each to put "
        "bootstrap intervals on ROC AUC and costs and to cross-fit a threshold; "
        "evaluate on more labelled rows (a longer period or a larger snapshot)"
    )


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


def read_scores(
    use_case: UseCase, scores: Scores | Sequence[Scores], data: EvaluationData, versions: Mapping[int, str]
) -> dict[int, tuple[np.ndarray, str]]:
    """Each version's scores from scored output, in the order of ``data``'s rows, and where they came from.

    ``scores`` is one scored output or several (see :data:`Scores`); its ``version`` column says
    whose each row is, and ``versions`` (number → name, e.g. ``churn v2``) which ones are wanted:
    every one of them, and no other. Rows are matched by the spec's entity key, or taken in order
    when there is none; a row count, key or label that differs from ``data`` is an error. Only the
    key, label, ``score`` and ``version`` columns are read.
    """
    items = [scores] if isinstance(scores, pd.DataFrame | str | Path) else list(scores)
    if not items:
        raise EvaluationError("scores is empty; pass the scored output of each version, or leave scores out")
    key, label = use_case.data.entity_key, use_case.data.label
    parts: dict[int, list[pd.DataFrame]] = {}
    refs: dict[int, list[str]] = {}
    for item in items:
        frame, ref = _read_scored(item, [c for c in (key, label) if c])
        for version, rows in frame.groupby("version", sort=True):
            parts.setdefault(int(version), []).append(rows)
            refs.setdefault(int(version), []).append(ref)
    wanted = " and ".join(versions.values())
    for version, where in refs.items():
        if version not in versions:
            raise EvaluationError(
                f"the scores in {where[0]} are of version {version}, but this evaluation needs {wanted}; "
                f"pass the scored output of {wanted} only"
            )
    for version, who in versions.items():
        if version not in parts:
            found = ", ".join(f"v{v}" for v in sorted(parts))
            raise EvaluationError(
                f"no scores of {who} among the scores given (they hold {found}); score it with "
                f"'modelyard score {use_case.name} {version} --data ... --out ...' and pass that output too"
            )
    return {
        version: (_aligned(use_case, pd.concat(parts[version], ignore_index=True), data, who), ", ".join(refs[version]))
        for version, who in versions.items()
    }


def _read_scored(item: Scores, optional: list[str]) -> tuple[pd.DataFrame, str]:
    """The ``score`` and ``version`` columns of one scored output, and of ``optional`` those it has."""
    dataset: Any = None
    if isinstance(item, pd.DataFrame):
        ref, names = _frame_ref(item), list(map(str, item.columns))
    else:
        import pyarrow.dataset as ds

        path = Path(item)
        ref = str(path.resolve())
        if not path.exists():
            raise EvaluationError(
                f"the scores {str(path)!r} do not exist; pass the output of 'modelyard score' "
                "(a Parquet file, or the folder of part files --engine spark writes)"
            )
        try:
            dataset = ds.dataset(path, format="parquet")
            names = dataset.schema.names
        except (OSError, pa.ArrowInvalid) as exc:
            raise EvaluationError(f"the scores {str(path)!r} are not readable as Parquet: {exc}") from None
    missing = [c for c in ("score", "version") if c not in names]
    if missing:
        raise EvaluationError(
            f"the scores {ref} have no column(s) {missing} (columns present: {', '.join(names)}); "
            "pass the output of 'modelyard score', which writes score and version"
        )
    columns = [c for c in (*optional, "score", "version") if c in names]
    frame = item[columns] if dataset is None else dataset.to_table(columns=columns).to_pandas()
    if frame["version"].isna().any():
        raise EvaluationError(f"the scores {ref} have rows without a version; pass the output of 'modelyard score'")
    return frame, ref


def _aligned(use_case: UseCase, scored: pd.DataFrame, data: EvaluationData, who: str) -> np.ndarray:
    """``scored``'s scores in the order of ``data``'s rows; an error when they are not the same rows."""
    key, label = use_case.data.entity_key, use_case.data.label
    if len(scored) != data.n:
        raise EvaluationError(
            f"the scores of {who} hold {len(scored):,} rows but the evaluation data holds {data.n:,}; "
            "score the same rows you evaluate on (the same snapshot or file as data)"
        )
    by_key = bool(key) and key in scored.columns and key in data.columns.columns
    if by_key:
        for where, keys in ((f"the scores of {who}", scored[key]), ("the evaluation data", data.columns[key])):
            repeated = keys[keys.duplicated()]
            if len(repeated):
                raise EvaluationError(
                    f"entity key {key!r} repeats in {where} (e.g. {_plain(repeated.iloc[0])!r}), so scores "
                    "cannot be matched to rows; evaluate on one row per key"
                )
        order = pd.Index(scored[key]).get_indexer(data.columns[key])
        unmatched = order < 0
        if unmatched.any():
            example = _plain(data.columns[key].iloc[int(np.flatnonzero(unmatched)[0])])
            raise EvaluationError(
                f"{int(unmatched.sum()):,} of {data.n:,} rows of the evaluation data have no score of {who} "
                f"(e.g. {key} {example!r}); score the same rows you evaluate on"
            )
        scored = scored.iloc[order].reset_index(drop=True)
    if label in scored.columns:
        differs = (scored[label] == use_case.positive_label).to_numpy(dtype=bool) != data.y
        if differs.any():
            i = int(np.flatnonzero(differs)[0])
            row = f"{key} {_plain(data.columns[key].iloc[i])!r}" if by_key else f"row {i}"
            fix = "they were scored on other rows" if by_key else "set data.entity_key in the spec to match rows by key"
            raise EvaluationError(
                f"label {label!r} in the scores of {who} differs from the evaluation data's in "
                f"{int(differs.sum()):,} of {data.n:,} rows (e.g. {row}); {fix}"
            )
    return scored["score"].to_numpy(dtype=np.float64)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages show ``3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value
