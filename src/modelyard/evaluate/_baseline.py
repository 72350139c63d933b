"""A simple reference model: a logistic regression on the spec's inputs.

Fitted on the challenger's own training data when its lineage names a snapshot (the snapshot's
rows less the evaluation rows, matched by entity key), so it is the model the team could have
built instead. Without one, it is cross-fitted on the evaluation rows (one half fits, the other is
scored, and the other way round), an optimistic reference. Numbers and flags are imputed (median)
and scaled; categories and strings are one-hot encoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelyard.spec import UseCase

__all__ = ["MIN_TRAINING_ROWS", "baseline_scores", "training_baseline_scores"]


def _model(use_case: UseCase) -> tuple[Any, list[str], list[str]] | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [f.name for f in use_case.inputs if f.type in ("int", "float", "bool")]
    categorical = [f.name for f in use_case.inputs if f.type in ("category", "string")]
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        encoder = OneHotEncoder(handle_unknown="ignore", min_frequency=5)
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), encoder), categorical))
    if not parts:
        return None
    model = Pipeline([("columns", ColumnTransformer(parts)), ("model", LogisticRegression(max_iter=1000))])
    return model, numeric, categorical


def _frame(inputs: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    frame = inputs[numeric + categorical].copy()
    for name in numeric:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in categorical:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), np.nan)
    return frame


def baseline_scores(use_case: UseCase, inputs: pd.DataFrame, y: np.ndarray, folds: np.ndarray) -> np.ndarray | None:
    """Out-of-fold scores of a logistic regression on the spec's inputs; None when a fold has one class."""
    from sklearn.base import clone

    built = _model(use_case)
    if built is None:
        return None
    model, numeric, categorical = built
    frame = _frame(inputs, numeric, categorical)
    scores = np.empty(len(y))
    for k in np.unique(folds):
        mine = folds == k
        if len(np.unique(y[~mine])) < 2:
            return None
        fitted = clone(model).fit(frame[~mine], y[~mine])
        scores[mine] = fitted.predict_proba(frame[mine])[:, 1]
    return scores


MIN_TRAINING_ROWS = 50


def training_baseline_scores(
    use_case: UseCase, train_inputs: pd.DataFrame, train_y: np.ndarray, inputs: pd.DataFrame
) -> np.ndarray | None:
    """Scores on ``inputs`` of a logistic regression fitted on the training rows; None when they are
    too few (under 50) or hold one class."""
    built = _model(use_case)
    if built is None or len(train_y) < MIN_TRAINING_ROWS or len(np.unique(train_y)) < 2:
        return None
    model, numeric, categorical = built
    model.fit(_frame(train_inputs, numeric, categorical), train_y)
    return np.asarray(model.predict_proba(_frame(inputs, numeric, categorical))[:, 1], dtype=np.float64)
