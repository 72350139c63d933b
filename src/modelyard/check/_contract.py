"""Inputs: do the model's columns match the spec, and does the production sample keep the spec?

Two sides are compared with the spec's ``inputs``: the columns the model reads (and the types it
was trained on), and the sample after the feature code ran (columns, types, nulls, ranges,
categories). Every difference is named with its column, a count and an example row.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from modelyard.check._result import Check, Status

__all__ = ["closest_name", "data_checks", "model_input_checks"]

_COMPATIBLE = {
    ("int", "float"),
    ("float", "int"),
    ("category", "string"),
    ("string", "category"),
    ("bool", "int"),
    ("int", "bool"),
}


def closest_name(name: str, candidates: Sequence[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate most like ``name`` (case and separators ignored first), or None.

    ``cutoff`` is the least :class:`difflib.SequenceMatcher` ratio of a match that differs in more.
    """

    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    by_norm = {norm(c): c for c in candidates}
    if norm(name) in by_norm:
        return by_norm[norm(name)]
    found = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], n=1, cutoff=cutoff)
    if not found:
        return None
    return next(c for c in candidates if c.lower() == found[0])


def model_input_checks(
    use_case: Any, input_names: Sequence[str] | None, trained_dtypes: dict[str, str], width: int | None = None
) -> list[Check]:
    """The model's columns and training types against the spec's inputs; ``width`` is how many
    columns a model that does not name its inputs was fitted on, when it says."""
    spec_names = list(use_case.input_names)
    if input_names is None and width is not None and width != len(spec_names):
        return [
            Check(
                "model inputs",
                Status.FAIL,
                f"the model was fitted on an array of {width} unnamed column(s); production sends the spec's "
                f"{len(spec_names)} inputs, and it cannot tell which {width} it learnt from",
                measured=f"{width} columns fitted, {len(spec_names)} sent",
                fix=(
                    "fit the model on a pandas DataFrame of the spec's inputs (e.g. model.fit(X[[...]], y) with "
                    "X from a snapshot), so that it reads its columns by name"
                ),
            )
        ]
    if input_names is None:
        return [
            Check(
                "model inputs",
                Status.PASS,
                f"the model does not name its inputs; it receives the spec's {len(spec_names)} inputs in spec order",
            )
        ]
    reads = list(input_names)
    unknown = [n for n in reads if n not in spec_names]
    unused = [n for n in spec_names if n not in reads]
    renamed: list[tuple[str, str]] = []
    missing: list[str] = []
    free = list(unused)
    for name in unknown:
        guess = closest_name(name, free)
        if guess is None:
            missing.append(name)
        else:
            renamed.append((name, guess))
            free.remove(guess)
    rows: list[Check] = []
    problems = [f"the model reads {m!r}, which production calls {s!r}" for m, s in renamed]
    problems += [f"the model reads {m!r}, which production does not send" for m in missing]
    fixes = [f"train on the spec's column names (rename {m!r} to {s!r})" for m, s in renamed]
    if missing:
        fixes.append(f"add {', '.join(map(repr, missing))} to the spec's inputs and feature code, or train without it")
    ignored = [n for n in unused if n not in {s for _, s in renamed}]
    note = f"; it ignores {len(ignored)} input(s) production sends: {', '.join(ignored)}" if ignored else ""
    if problems:
        rows.append(
            Check(
                "model inputs",
                Status.FAIL,
                "; ".join(problems) + note,
                measured=f"{len(reads) - len(unknown)}/{len(reads)} columns found",
                fix="; ".join(fixes),
                details={"renamed": dict(renamed), "missing": missing, "ignored": ignored},
            )
        )
    elif ignored:
        rows.append(
            Check(
                "model inputs",
                Status.WARN,
                f"the model reads {len(reads)} of the spec's {len(spec_names)} inputs{note}",
                measured=f"{len(reads)}/{len(spec_names)} inputs used",
                fix="drop unused inputs from the spec if no model needs them",
                details={"ignored": ignored},
            )
        )
    else:
        rows.append(Check("model inputs", Status.PASS, f"the model reads the spec's {len(reads)} inputs"))
    mismatched = []
    for name in reads:
        if name not in spec_names or name not in trained_dtypes:
            continue
        spec_type, trained = str(use_case.feature(name).type), trained_dtypes[name]
        if trained != spec_type and (trained, spec_type) not in _COMPATIBLE:
            mismatched.append((name, trained, spec_type))
    if mismatched:
        rows.append(
            Check(
                "model input types",
                Status.FAIL,
                "; ".join(f"{n!r} was {t} in training, the spec says {s}" for n, t, s in mismatched),
                fix="train on data built by the spec's feature code, so the types match production",
                details={"mismatched": [{"column": n, "trained": t, "spec": s} for n, t, s in mismatched]},
            )
        )
    return rows


def data_checks(use_case: Any, frame: pd.DataFrame) -> tuple[list[Check], np.ndarray]:
    """The sample (after the feature code) against the spec's inputs; and which rows keep the contract.

    Rows that break it are those the server would reject; the model is run on the others.
    """
    spec_names = list(use_case.input_names)
    present = [n for n in spec_names if n in frame.columns]
    absent = [n for n in spec_names if n not in frame.columns]
    others = [str(c) for c in frame.columns if c not in spec_names]
    valid = np.ones(len(frame), dtype=bool)
    rows: list[Check] = []
    if absent:
        parts, fixes = [], []
        for name in absent:
            guess = closest_name(name, others)
            if guess:
                parts.append(f"{name!r} is missing; the data has {guess!r}")
                fixes.append(f"rename {guess!r} to {name!r} in the feature code")
            else:
                parts.append(f"{name!r} is missing")
        if len(fixes) < len(absent):
            fixes.append("make the feature code return every input of the spec")
        rows.append(
            Check(
                "data columns",
                Status.FAIL,
                f"{len(absent)} of {len(spec_names)} inputs missing from the data: " + "; ".join(parts),
                measured=f"{len(present)}/{len(spec_names)} inputs",
                fix="; ".join(fixes),
                details={"missing": absent, "extra": others},
            )
        )
    else:
        extra = f"; {len(others)} extra column(s) are dropped: {', '.join(others[:8])}" if others else ""
        rows.append(Check("data columns", Status.PASS, f"all {len(spec_names)} inputs present{extra}"))

    type_problems: list[str] = []
    value_problems: list[str] = []
    details: dict[str, Any] = {}
    for name in present:
        feature = use_case.feature(name)
        series = frame[name]
        problem = _type_problem(series, str(feature.type), feature.categories)
        if problem:
            type_problems.append(f"{name!r} {problem}")
            valid[:] = False  # the server rejects a whole column of the wrong type
            continue
        bad = _bad_values(series, feature)
        for what, mask in bad:
            count = int(mask.sum())
            if count:
                position = int(np.flatnonzero(mask)[0])
                example = _example(frame, position, name)
                value_problems.append(f"{name!r}: {count:,} row(s) {what}, e.g. {example}")
                details.setdefault(name, []).append({"problem": what, "rows": count, "first_row": position})
                valid &= ~mask
    if type_problems:
        rows.append(
            Check(
                "data types",
                Status.FAIL,
                "; ".join(type_problems),
                fix="make the feature code return the spec's types (or correct the spec)",
            )
        )
    else:
        rows.append(Check("data types", Status.PASS, f"{len(present)} inputs have the spec's types"))
    if value_problems:
        rows.append(
            Check(
                "data values",
                Status.FAIL,
                "; ".join(value_problems),
                measured=f"{int((~valid).sum()):,} of {len(frame):,} rows rejected",
                fix="fix these rows in the feature code or widen the spec (nullable, min/max, categories)",
                details=details,
            )
        )
    elif not type_problems:
        rows.append(
            Check(
                "data values",
                Status.PASS,
                f"all {len(frame):,} rows keep the spec's nulls, ranges and categories",
            )
        )
    return rows, valid


def _type_problem(series: pd.Series, spec_type: str, categories: list[Any] | None) -> str | None:
    dtype = series.dtype
    kind = f"is {dtype}"
    is_bool = pd.api.types.is_bool_dtype(dtype)
    is_num = pd.api.types.is_numeric_dtype(dtype) and not is_bool
    if spec_type == "int":
        if pd.api.types.is_integer_dtype(dtype) and not is_bool:
            return None
        if pd.api.types.is_float_dtype(dtype):
            values = series.dropna().to_numpy()
            if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
                return None  # whole numbers stored as float (pandas does so when nulls are present)
            fraction = values[values != np.round(values)][:1].tolist()
            return f"{kind} with fractions (e.g. {fraction[0] if fraction else 'inf'!r}); the spec says int"
        return f"{kind}; the spec says int"
    if spec_type == "float":
        return None if is_num else f"{kind}; the spec says float"
    if spec_type == "bool":
        if is_bool:
            return None
        values = series.dropna()
        if pd.api.types.is_object_dtype(dtype) and values.map(lambda v: isinstance(v, bool | np.bool_)).all():
            return None
        return f"{kind}; the spec says bool"
    if spec_type == "datetime":
        return None if pd.api.types.is_datetime64_any_dtype(dtype) else f"{kind}; the spec says datetime"
    if spec_type == "category":
        if categories and all(isinstance(c, int) for c in categories) and is_num:
            return None
        if is_num or is_bool or pd.api.types.is_datetime64_any_dtype(dtype):
            return f"{kind}; the spec says category (strings such as {categories[:2] if categories else []})"
        return None
    if spec_type == "string" and (is_num or is_bool or pd.api.types.is_datetime64_any_dtype(dtype)):
        return f"{kind}; the spec says string"
    return None


def _bad_values(series: pd.Series, feature: Any) -> list[tuple[str, np.ndarray]]:
    out: list[tuple[str, np.ndarray]] = []
    null = series.isna().to_numpy()
    if not feature.nullable:
        out.append(("are null but the input is not nullable", null))
    spec_type = str(feature.type)
    if spec_type in ("int", "float", "datetime") and (feature.min is not None or feature.max is not None):
        values = series
        low, high = feature.min, feature.max
        if spec_type == "datetime":
            low = _timestamp(low, series) if low is not None else None
            high = _timestamp(high, series) if high is not None else None
        too_low = (values < low).to_numpy() if low is not None else np.zeros(len(series), dtype=bool)
        too_high = (values > high).to_numpy() if high is not None else np.zeros(len(series), dtype=bool)
        span = f"[{'-inf' if feature.min is None else feature.min}, {'inf' if feature.max is None else feature.max}]"
        out.append((f"outside {span}", (too_low | too_high) & ~null))
    if spec_type == "category" and feature.categories:
        allowed = set(feature.categories) | {str(c) for c in feature.categories}
        unknown = ~series.isin(list(allowed)).to_numpy() & ~null
        if unknown.any():
            seen = pd.unique(series[unknown])[:3].tolist()
            out.append((f"have values not in categories ({', '.join(map(repr, seen))})", unknown))
    if spec_type == "float":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        out.append(("are infinite", np.isinf(values)))
    return out


def _timestamp(bound: date | datetime, series: pd.Series) -> pd.Timestamp:
    stamp = pd.Timestamp(bound)
    tz = getattr(series.dtype, "tz", None)
    if tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(tz)
    if tz is None and stamp.tzinfo is not None:
        return stamp.tz_localize(None)
    return stamp


def _example(frame: pd.DataFrame, position: int, column: str) -> str:
    value = frame[column].iloc[position]
    return f"row {position} (index {frame.index[position]!r}): {column}={_short(value)}"


def _short(value: Any) -> str:
    if isinstance(value, float) and np.isnan(value):
        return "null"
    if value is None or value is pd.NaT:
        return "null"
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."
