"""Categories: does production send category values the model never saw in training?

A model meets an unseen category without a word: LightGBM reads it as missing, an
``OrdinalEncoder(handle_unknown="use_encoded_value")`` codes it as its ``unknown_value``, a
``OneHotEncoder(handle_unknown="ignore")`` as all zeros. So the rows the model runs on are
compared, column by column, with the categories the model records from training: LightGBM's pandas
categories, and the ``categories_`` of scikit-learn's encoders at the front of a pipeline (also
inside a ``ColumnTransformer`` and HistGradientBoosting's own preprocessor). ONNX models and Python
functions record none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.check._contract import closest_name
from modelyard.check._result import Check, Status
from modelyard.flavors import LightGBMModel, LoadedModel, SklearnModel
from modelyard.flavors._lightgbm import PandasCategories

__all__ = ["CLOSE_CUTOFF", "FAIL_SHARE", "TrainedCategories", "category_check", "trained_categories"]

FAIL_SHARE = 0.01
"""Unseen categories in this share of rows or more fail the check; fewer only warn.

Under 1% is what a rare new value looks like (a product launched last week): those rows score
worse, the rest as trained, and the team should know. From 1% up it is a systematic difference
(values spelled or coded unlike the training data, a category that became common), which
degrades a large part of traffic. On the check's 2,000 rows, 1% is 20 rows: a few stray values
do not fail a model.
"""
CLOSE_CUTOFF = 0.8
"""How alike an unseen value and a training category must be to name the category as the likely
meaning, beyond differences in case, spaces and punctuation ("Fibre optic" and "Fiber optic" are
0.91 alike; "Three year" and "Two year", 0.67, are not taken for each other)."""
_EXAMPLES = 3
_NOT_SEEN = "the model reads as missing"


@dataclass(frozen=True)
class TrainedCategories:
    """One input column and the values the model saw in it in training (nulls left out)."""

    column: str
    categories: pd.Index
    unseen: str
    """What the model does with any other value, to follow "which": e.g. "the model reads as missing"."""


def trained_categories(loaded: LoadedModel, frame: pd.DataFrame) -> list[TrainedCategories]:
    """The columns of ``frame`` (the spec's inputs) whose training categories ``loaded`` records.

    Empty for a model that records none (ONNX, a Python function, a model on numbers only) and for a
    layout this module does not know: it never guesses.
    """
    if isinstance(loaded, LightGBMModel):
        found = _lightgbm(loaded.categories, loaded.input_names, frame)
    elif isinstance(loaded, SklearnModel) and loaded.lightgbm is not None:
        found = _lightgbm(loaded.lightgbm_categories, loaded.input_names, frame)
    elif isinstance(loaded, SklearnModel):
        try:
            found = _sklearn(loaded.raw, list(loaded.input_names or frame.columns))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            found = []  # the layout of a scikit-learn version we do not know
    else:
        found = []
    unique: dict[str, TrainedCategories] = {}
    for known in found:
        if known.column in frame.columns:
            unique.setdefault(known.column, known)  # a column encoded twice: the first encoder's
    return list(unique.values())


def category_check(loaded: LoadedModel, frame: pd.DataFrame) -> Check:
    """The ``categories`` row: rows of ``frame`` whose value in a column is not among the categories
    the model saw there in training. Nulls are not counted (the contract checks say whether they are
    allowed)."""
    known = trained_categories(loaded, frame)
    total = len(frame)
    if not known:
        return Check("categories", Status.PASS, "the model records no training categories; nothing to compare")
    compared = ", ".join(k.column for k in known)
    any_unseen = np.zeros(total, dtype=bool)
    found: list[tuple[TrainedCategories, int, pd.Series]] = []
    for item in known:
        series = frame[item.column]
        unseen = (~series.isin(item.categories) & series.notna()).to_numpy()
        count = int(unseen.sum())
        if count:
            any_unseen |= unseen
            counts = series[unseen].value_counts(dropna=True)
            found.append((item, count, counts[counts > 0]))
    rows = int(any_unseen.sum())
    budget = f"< {FAIL_SHARE:.0%} of rows"
    if not rows:
        return Check(
            "categories",
            Status.PASS,
            f"every value of {len(known)} category input(s) was seen in training ({compared})",
            measured=f"0 of {total:,} rows",
            budget=budget,
            details={"compared": [k.column for k in known]},
        )
    share = rows / total
    parts: list[tuple[str, int, str]] = []
    mappings: list[str] = []
    details: dict[str, Any] = {}
    for item, count, counts in found:
        examples = []
        close: dict[str, Any] = {}
        for value, n in counts.iloc[:_EXAMPLES].items():
            guess = _close_category(value, item.categories)
            if guess is not None:
                close[str(value)] = guess
                mappings.append(f"{_short(value)} to {_short(guess)}")
            like = f"; looks like the model's {_short(guess)}" if guess is not None else ""
            examples.append(f"{_short(value)} ({int(n):,} rows{like})")
        more = f" and {len(counts) - _EXAMPLES:,} other value(s)" if len(counts) > _EXAMPLES else ""
        parts.append((item.column, count, f"which {item.unseen}: {', '.join(examples)}{more}"))
        details[item.column] = {
            "rows": count,
            "share": count / total,
            "unseen": {str(v): int(n) for v, n in counts.iloc[:20].items()},
            "looks_like": close,
            "model_categories": item.categories[:50].tolist(),
        }
    carry = f"{rows:,} of {total:,} rows ({share:.1%}) {'carries' if rows == 1 else 'carry'}"
    if len(parts) == 1:
        column, _, what = parts[0]
        message = f"{carry} a value of {column!r} the model never saw in training, {what}"
    else:
        each = ". ".join(f"{column!r}: {n:,} rows ({n / total:.1%}), {what}" for column, n, what in parts)
        message = f"{carry} categories the model never saw in training. {each}"
    mapping = ", ".join(mappings[:_EXAMPLES]) if mappings else "these values to categories the model knows"
    return Check(
        "categories",
        Status.FAIL if share >= FAIL_SHARE else Status.WARN,
        message,
        measured=f"{rows:,} of {total:,} rows ({share:.1%})",
        budget=budget,
        fix=f"map {mapping} in the feature code (data.features), or retrain the model on production's categories",
        details={"compared": [k.column for k in known], "columns": details},
    )


def _close_category(value: Any, categories: pd.Index) -> Any:
    """The training category ``value`` most likely means (case, spacing, a typo or its type aside), or None."""
    by_text = {str(c): c for c in categories}
    guess = closest_name(str(value), list(by_text), cutoff=CLOSE_CUTOFF)
    return by_text[guess] if guess is not None else None


def _lightgbm(
    categories: PandasCategories | None, input_names: Sequence[str] | None, frame: pd.DataFrame
) -> list[TrainedCategories]:
    """LightGBM's pandas categories, by column: the frame in the model's column order tells them."""
    if categories is None:
        return []
    names = list(input_names) if input_names is not None else list(frame.columns)
    if any(n not in frame.columns for n in names):
        return []
    by_column = categories.by_column(frame[names])
    return [TrainedCategories(c, values.dropna(), _NOT_SEEN) for c, values in by_column.items()]


def _sklearn(estimator: Any, names: Sequence[str]) -> list[TrainedCategories]:
    """The encoders that read the columns ``names`` first: in a Pipeline's first step, a
    ColumnTransformer's parts, HistGradientBoosting's own preprocessor."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            if not _fills_nulls_only(step, names):
                return _sklearn(step, names)  # what follows reads this step's output, not the inputs
        return []
    if isinstance(estimator, ColumnTransformer):
        known = getattr(estimator, "feature_names_in_", None)
        columns = [str(n) for n in known] if known is not None else list(names)
        out = []
        for name, fitted, _ in estimator.transformers_:
            if isinstance(fitted, str):  # "drop", "passthrough"
                continue
            picked = estimator._transformer_to_input_indices[name]
            out += _sklearn(fitted, [columns[i] for i in picked])
        return out
    if isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        preprocessor = getattr(estimator, "_preprocessor", None)  # categories from pandas dtypes or strings
        return _sklearn(preprocessor, names) if preprocessor is not None else []
    if isinstance(estimator, OrdinalEncoder | OneHotEncoder | TargetEncoder):
        known = getattr(estimator, "feature_names_in_", None)
        columns = [str(n) for n in known] if known is not None else list(names)
        if len(columns) != len(estimator.categories_):
            return []
        return [
            TrainedCategories(column, pd.Index(values).dropna(), _unseen(estimator, i))
            for i, (column, values) in enumerate(zip(columns, estimator.categories_, strict=True))
        ]
    return []


def _fills_nulls_only(step: Any, names: Sequence[str]) -> bool:
    """A SimpleImputer of NaN that keeps every column: the values it passes on are the inputs' own."""
    from sklearn.impute import SimpleImputer

    if type(step) is not SimpleImputer or not pd.isna(step.missing_values):
        return False
    return len(step.get_feature_names_out()) == step.n_features_in_ == len(names)


def _unseen(encoder: Any, column: int) -> str:
    """What ``encoder`` makes of a value outside its categories of column ``column``."""
    from sklearn.preprocessing import OrdinalEncoder, TargetEncoder

    if isinstance(encoder, TargetEncoder):
        return "the encoder codes as the training target mean"
    if encoder.handle_unknown == "error":
        return "the encoder refuses: the model raises on these rows"
    if isinstance(encoder, OrdinalEncoder):
        code = encoder.unknown_value
        return _NOT_SEEN if pd.isna(code) else f"the encoder codes as unknown_value {code!r}"
    try:
        infrequent = encoder.infrequent_categories_[column] is not None
    except AttributeError:  # no infrequent categories at all
        infrequent = False
    if encoder.handle_unknown == "infrequent_if_exist" and infrequent:
        return "the encoder puts among the infrequent categories"
    return "the encoder one-hot codes as all zeros"


def _short(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."
