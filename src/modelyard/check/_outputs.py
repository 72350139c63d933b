"""Outputs: shape, dtype, NaN/inf, range and label set; almost-right answers get their adapter line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from modelyard.check._adapters import OutputAdapter
from modelyard.check._contract import closest_name
from modelyard.check._result import Check, Status
from modelyard.flavors import LoadedModel

__all__ = ["PredictFailure", "Scorer", "output_checks", "predict_raw", "score_output"]

Scorer = Callable[[pd.DataFrame], np.ndarray]
_PROBABILITY_NAMES = ("proba", "probability", "probabilities", "prob", "p", "prediction", "pred", "yhat", "y_pred")
_SUM_TOLERANCE = 1e-3
_FEW_ROWS = 20  # fewer different input rows than this: two score values prove nothing
_LABEL_ROWS = 100  # this many different input rows scored only 0 and 1: the model returns labels


class PredictFailure(Exception):
    """The model raised; ``message`` names the first failing row and the error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OutputReport:
    """What the output checks found: the rows, the scorer to use from now on, and the scores."""

    rows: list[Check]
    scorer: Scorer | None
    scores: np.ndarray | None


def predict_raw(loaded: LoadedModel, frame: pd.DataFrame, *, limit: int = 2000) -> Any:
    """The model's own answer on ``frame``; when it raises, find the first row that fails alone."""
    try:
        return loaded._predict(frame)
    except Exception as batch_error:
        for position in range(min(len(frame), limit)):
            try:
                loaded._predict(frame.iloc[[position]])
            except Exception as exc:
                row = {k: _plain(v) for k, v in frame.iloc[position].items()}
                raise PredictFailure(
                    f"the model raised {type(exc).__name__}: {_first_line(exc)} on row {position} "
                    f"(index {frame.index[position]!r}): {row}"
                ) from exc
        raise PredictFailure(
            f"the model raised {type(batch_error).__name__}: {_first_line(batch_error)} on a batch of "
            f"{len(frame):,} rows, though each of the first {min(len(frame), limit):,} rows scores alone"
        ) from batch_error


def score_output(use_case: Any) -> Any:
    """The spec's score output: the first float output (``score`` by default)."""
    for output in use_case.outputs:
        if str(output.type) == "float":
            return output
    return use_case.outputs[0]


def output_checks(
    use_case: Any,
    loaded: LoadedModel,
    frame: pd.DataFrame,
    adapters: Mapping[str, OutputAdapter],
    *,
    threshold: float,
) -> OutputReport:
    """Run the model on ``frame`` and check its answer against the spec's outputs."""
    output = score_output(use_case)
    raw = predict_raw(loaded, frame)
    declared = adapters.get(output.name)
    n = len(frame)
    rows: list[Check] = []
    if declared is not None:
        try:
            values = np.asarray(declared.apply(raw))
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {_first_line(exc)}"
            rows.append(
                Check(
                    "output shape",
                    Status.FAIL,
                    f"the spec's {declared.line()} does not fit the model's answer: {message}",
                    measured=_describe(raw),
                    fix="correct or remove the adapter",
                )
            )
            return OutputReport(rows, None, None)
        column = declared.column
        rows.append(Check("output shape", Status.PASS, f"the spec's {declared.line()} gives one {output.name} per row"))
        suggestion: OutputAdapter | None = None
    else:
        shaped = _shape(output.name, raw, n, loaded)
        rows.append(shaped.row)
        if shaped.values is None:
            return OutputReport(rows, None, None)
        values, column = shaped.values, shaped.column
        suggestion = shaped.adapter
    if values.dtype.kind not in "biuf":
        rows.append(
            Check(
                "output dtype",
                Status.FAIL,
                f"the model returns {values.dtype} values such as {_plain(values[0])!r}, not numeric scores",
                measured=str(values.dtype),
                fix="return the probability of the positive class (predict_proba), not labels",
            )
        )
        return OutputReport(rows, None, None)
    if values.ndim != 1 or len(values) != n:
        rows.append(
            Check(
                "output shape",
                Status.FAIL,
                f"after the adapter the model gives shape {values.shape}; one {output.name} per row needs ({n},)",
                fix="pick one column with adapter: {column: ...}",
            )
        )
        return OutputReport(rows, None, None)
    scores = values.astype(np.float64)
    rows.append(Check("output dtype", Status.PASS, f"numeric ({values.dtype})", measured=str(values.dtype)))

    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        rows.append(
            Check(
                "output NaN/inf",
                Status.FAIL,
                f"{int(bad.sum()):,} of {n:,} scores are NaN or infinite, e.g. row {first} "
                f"(index {frame.index[first]!r}): {scores[first]}",
                measured=f"{int(bad.sum()):,} rows",
                fix="impute missing inputs inside the model (the spec allows nulls where nullable: true)",
                details={"rows": int(bad.sum()), "first_row": first},
            )
        )
    else:
        rows.append(Check("output NaN/inf", Status.PASS, "every score is finite"))

    low = -np.inf if output.min is None else float(output.min)
    high = np.inf if output.max is None else float(output.max)
    finite = scores[~bad]
    outside = (scores < low) | (scores > high)
    scale: float | None = None
    if outside.any():
        if low == 0 and high == 1 and finite.size and finite.min() >= 0 and finite.max() <= 100:
            scale = 0.01
        first = int(np.flatnonzero(outside)[0])
        fix_adapter = OutputAdapter(output.name, column=column, scale=scale) if scale else None
        message = (
            f"{int(outside.sum()):,} of {n:,} scores are outside [{output.min}, {output.max}], e.g. row {first} "
            f"(index {frame.index[first]!r}): {scores[first]:g}"
        )
        if scale:
            message += "; the scores look like percentages (all within [0, 100])"
        rows.append(
            Check(
                "output range",
                Status.FAIL,
                message,
                measured=f"[{finite.min():g}, {finite.max():g}]" if finite.size else "",
                budget=f"[{output.min}, {output.max}]",
                fix=f"add under outputs/{output.name} in the spec: {fix_adapter.line()}"
                if fix_adapter
                else f"return scores within [{output.min}, {output.max}]",
                details={"rows": int(outside.sum()), "first_row": first},
            )
        )
        if fix_adapter is not None and scale is not None:
            suggestion = fix_adapter
            scores = scores * scale
            if column is not None and declared is None:  # one line for both: point the shape row at it
                rows[0] = replace(rows[0], fix=f"add under outputs/{output.name} in the spec: {fix_adapter.line()}")
    else:
        rows.append(
            Check(
                "output range",
                Status.PASS,
                f"every score within [{output.min}, {output.max}]",
                measured=f"[{finite.min():g}, {finite.max():g}]" if finite.size else "",
                budget=f"[{output.min}, {output.max}]",
            )
        )
    rows.append(_values_check(use_case, output.name, loaded, frame, values.dtype, scores))
    rows.append(_label_check(use_case, loaded, scores, threshold))
    scorer = _scorer(loaded, declared or suggestion)
    return OutputReport(rows, scorer, scores)


@dataclass(frozen=True)
class _Shaped:
    row: Check
    values: np.ndarray | None
    column: str | int | None = None
    adapter: OutputAdapter | None = None


def _shape(name: str, raw: Any, n: int, loaded: LoadedModel) -> _Shaped:
    """How the raw answer maps to one score per row, and the adapter line when it is almost right."""
    described = _describe(raw)
    names = _column_names(raw)
    if names is not None:
        if name in names and len(names) == 1:
            row = Check("output shape", Status.PASS, f"one column {name!r}", measured=described)
            return _Shaped(row, _col(raw, name))
        if name in names:
            adapter = OutputAdapter(name, column=name)
            return _Shaped(
                Check(
                    "output shape",
                    Status.FAIL,
                    f"the model returns {len(names)} columns {names}; the server must be told which is {name!r}",
                    measured=described,
                    fix=f"add under outputs/{name} in the spec: {adapter.line()}",
                ),
                _col(raw, name),
                name,
                adapter,
            )
        guess = closest_name(name, names) or next((c for c in names if c.lower() in _PROBABILITY_NAMES), None)
        if guess is None and len(names) == 1:
            guess = names[0]
        if guess is None:
            return _Shaped(
                Check(
                    "output shape",
                    Status.FAIL,
                    f"the model returns columns {names}, none of which is the spec's output {name!r}",
                    measured=described,
                    fix=f"return a column {name!r}, or add under outputs/{name}: adapter: {{column: <its name>}}",
                ),
                None,
            )
        adapter = OutputAdapter(name, column=guess)
        return _Shaped(
            Check(
                "output shape",
                Status.FAIL,
                f"the model returns a column named {guess!r}; the spec's output is {name!r}",
                measured=described,
                fix=f"add under outputs/{name} in the spec: {adapter.line()}",
            ),
            _col(raw, guess),
            guess,
            adapter,
        )
    try:
        arr = np.asarray(raw)
    except Exception:
        return _Shaped(
            Check("output shape", Status.FAIL, f"the model returns {described}, not an array", fix="return an array"),
            None,
        )
    if arr.ndim == 1 and len(arr) == n:
        return _Shaped(Check("output shape", Status.PASS, f"one {name} per row", measured=described), arr)
    if arr.ndim == 2 and arr.shape == (n, 1):
        return _Shaped(Check("output shape", Status.PASS, f"one {name} per row", measured=described), arr[:, 0])
    if arr.ndim == 2 and arr.shape == (n, 2) and arr.dtype.kind in "fiu":
        sums = arr.sum(axis=1)
        if np.allclose(sums, 1.0, atol=_SUM_TOLERANCE):
            adapter = OutputAdapter(name, column=1)
            classes = loaded.metadata.get("classes")
            if loaded.flavor != "python_function" and classes is not None and len(classes) == 2:
                return _Shaped(
                    Check(
                        "output shape",
                        Status.PASS,
                        f"two class probabilities per row; the {loaded.flavor} flavor scores column 1 "
                        f"(class {classes[1]!r})",
                        measured=described,
                    ),
                    arr[:, 1],
                )
            return _Shaped(
                Check(
                    "output shape",
                    Status.WARN,
                    "the model returns two probabilities per row (predict_proba); the server takes column 1 "
                    "as the positive class's score, so say so in the spec",
                    measured=described,
                    fix=f"add under outputs/{name} in the spec: {adapter.line()}",
                ),
                arr[:, 1],
                1,
                adapter,
            )
    return _Shaped(
        Check(
            "output shape",
            Status.FAIL,
            f"the model returns shape {arr.shape}; the spec needs one {name} per row: shape ({n},)",
            measured=described,
            fix="return one score per row (for predict_proba output, add: adapter: {column: 1})",
        ),
        None,
    )


def _values_check(
    use_case: Any, name: str, loaded: LoadedModel, frame: pd.DataFrame, dtype: np.dtype[Any], scores: np.ndarray
) -> Check:
    """Does the score rank the rows, or is it a label (two values, 0 and 1) in a score's place?

    The use case's threshold is chosen on the score to minimise the expected cost; on labels there
    is nothing to choose. A boolean, or an integer in [0, 1], is a label whatever the sample's size:
    FAIL. Float scores that take only 0 and 1 are labels too once the sample has
    ``_LABEL_ROWS`` different input rows: FAIL; on fewer, or when the two values are others (0.2 and
    0.8), a WARN; under ``_FEW_ROWS`` different rows, two values prove nothing and the check is not judged.
    """
    if str(use_case.task) != "binary_classification":
        return Check("output values", Status.SKIP, f"not judged: the task is {use_case.task}, not a binary score")
    finite = np.isfinite(scores)
    distinct = np.unique(scores[finite])
    n, k = int(finite.sum()), len(distinct)
    if n == 0:
        return Check("output values", Status.SKIP, f"not judged: no {name} is finite")
    measured = f"{k:,} distinct on {n:,} rows"
    if k > 2:
        return Check("output values", Status.PASS, f"{name} takes {k:,} values on {n:,} rows", measured=measured)
    varied = _different_rows(frame.loc[finite])
    binary = bool(np.isin(distinct, (0.0, 1.0)).all())
    typed = dtype.kind == "b" or (dtype.kind in "iu" and binary)  # a label by its type alone
    shown = " and ".join("False" if v == 0 else "True" for v in distinct) if dtype.kind == "b" else _values(distinct)
    found = f"{name} takes only {k} value{'s' if k > 1 else ''} ({shown}) on {n:,} rows"
    if not typed and varied < _FEW_ROWS:
        return Check(
            "output values",
            Status.SKIP,
            f"not judged: {found}, and {varied} different row{'s' if varied != 1 else ''} are too few to tell "
            f"scores from labels",
            measured=measured,
            fix=f"to have it judged, check with {_LABEL_ROWS} or more different production rows",
        )
    details = {"distinct": k, "rows": n, "different_rows": varied, "values": distinct.tolist()}
    if typed or (binary and varied >= _LABEL_ROWS):
        kind = f"{dtype} " if typed else ""
        return Check(
            "output values",
            Status.FAIL,
            f"{found}: the model returns {kind}labels, not scores, so the use case's cost-optimal threshold has "
            "nothing to choose",
            measured=measured,
            fix=_labels_fix(loaded),
            details=details,
        )
    fix = (
        "return a score that ranks the rows, such as the probability of the positive class "
        "(predict_proba(X)[:, 1]); a model this coarse (e.g. a one-split tree) needs more depth or other inputs"
    )
    if binary:
        fix = _labels_fix(loaded)
        why = (
            f"the model looks like it returns labels, not scores ({varied} different rows; {_LABEL_ROWS} make it "
            "certain)"
        )
    elif k == 1:
        why = "every row gets the same score, so a threshold can only act on everyone or on no one"
    else:
        why = "a threshold can only split the rows one way, so the cost-optimal threshold has little to choose from"
    return Check("output values", Status.WARN, f"{found}: {why}", measured=measured, fix=fix, details=details)


def _labels_fix(loaded: LoadedModel) -> str:
    if loaded.flavor == "python_function":
        return "return the probability of the positive class (predict_proba(X)[:, 1]), not the predicted label"
    return (
        f"the {loaded.flavor} flavor scores the model's probability of the positive class: if the model outputs "
        "labels, export its probabilities; if these are its probabilities, it is as sure as a label of every row "
        "(e.g. a fully grown tree): limit its depth or leaf size, or calibrate it (CalibratedClassifierCV)"
    )


def _different_rows(frame: pd.DataFrame) -> int:
    """How many different input rows the sample has (duplicates may fairly get the same score)."""
    try:
        return int((~frame.duplicated()).sum())
    except TypeError:  # an unhashable cell: count every row
        return len(frame)


def _values(values: np.ndarray) -> str:
    return " and ".join(f"{float(v):g}" for v in values)


def _label_check(use_case: Any, loaded: LoadedModel, scores: np.ndarray, threshold: float) -> Check:
    positive = loaded.metadata.get("positive_class")
    classes = loaded.metadata.get("classes")
    wanted = use_case.positive_label
    if positive is not None and not _same_label(positive, wanted):
        if any(_same_label(c, wanted) for c in classes or ()):
            # The model knows the spec's class but scores the other one: renaming positive_label
            # would price the use case's mistakes the wrong way round.
            fix = (
                f"train with the label encoded so that {wanted!r} is the positive class (e.g. y == {wanted!r}), "
                f"or wrap the model to return the probability of {wanted!r}; do not change positive_label: "
                f"the spec's costs are for {wanted!r}"
            )
        else:  # the spec names a class the model never had: a naming mismatch
            fix = (
                f"train with the label encoded so that {wanted!r} is the positive class, or, if {positive!r} "
                f"is what the spec means by {wanted!r}, set positive_label: {positive!r} in the spec"
            )
        return Check(
            "label set",
            Status.FAIL,
            f"the model's positive class (scored as {score_output(use_case).name}) is {positive!r} "
            f"of {classes}; the spec's positive_label is {wanted!r}",
            measured=f"classes {classes}",
            fix=fix,
        )
    labels = scores >= threshold
    share = float(labels.mean()) if labels.size else 0.0
    where = f"classes {classes}, " if classes else ""
    if labels.size and (share == 0.0 or share == 1.0):
        return Check(
            "label set",
            Status.WARN,
            f"at threshold {threshold:g} every row gets label {bool(labels[0])}",
            measured=f"{where}{share:.0%} positive",
            fix="check the threshold of the version, or the model's calibration",
        )
    return Check(
        "label set",
        Status.PASS,
        f"labels true/false at threshold {threshold:g}",
        measured=f"{where}{share:.0%} positive",
    )


def _same_label(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() in {str(b).lower(), "1" if b is True else "0" if b is False else str(b).lower()}
    return a == b or str(a) == str(b)


def _scorer(loaded: LoadedModel, adapter: OutputAdapter | None) -> Scorer:
    """How the server will score: ``loaded.score`` as is, or the adapter applied to the model's answer."""
    if adapter is None:
        return loaded.score

    def score(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(adapter.apply(loaded._predict(frame)), dtype=np.float64).reshape(len(frame))

    return score


def _column_names(raw: Any) -> list[str] | None:
    if isinstance(raw, pd.DataFrame):
        return [str(c) for c in raw.columns]
    if isinstance(raw, pd.Series) and raw.name is not None and not isinstance(raw.name, int):
        return [str(raw.name)]
    if isinstance(raw, Mapping):
        return [str(k) for k in raw]
    return None


def _col(raw: Any, name: str) -> np.ndarray:
    if isinstance(raw, pd.Series):
        return raw.to_numpy()
    if isinstance(raw, pd.DataFrame):
        return raw[name].to_numpy()
    return np.asarray(raw[name])


def _describe(raw: Any) -> str:
    if isinstance(raw, pd.DataFrame):
        return f"DataFrame {raw.shape}"
    if isinstance(raw, pd.Series):
        return f"Series ({len(raw)},) {raw.dtype}"
    if isinstance(raw, Mapping):
        return f"dict of {len(raw)}"
    if isinstance(raw, np.ndarray):
        return f"array {raw.shape} {raw.dtype}"
    return type(raw).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
