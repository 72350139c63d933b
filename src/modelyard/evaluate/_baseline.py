"""A simple reference model: logistic regression, cross-fitted on the evaluation rows.

The evaluation has no training data, so the baseline is fitted on one half of the evaluation rows
and scores the other half (and the other way round): every score is out of sample. Numbers and flags
are imputed (median) and scaled; categories and strings are one-hot encoded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.spec import UseCase

__all__ = ["baseline_scores"]


def baseline_scores(use_case: UseCase, inputs: pd.DataFrame, y: np.ndarray, folds: np.ndarray) -> np.ndarray | None:
    """Out-of-fold scores of a logistic regression on the spec's inputs; None when a fold has one class."""
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
    frame = inputs[numeric + categorical].copy()
    for name in numeric:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in categorical:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), np.nan)
    scores = np.empty(len(y))
    for k in np.unique(folds):
        mine = folds == k
        if len(np.unique(y[~mine])) < 2:
            return None
        model = Pipeline([("columns", ColumnTransformer(parts)), ("model", LogisticRegression(max_iter=1000))])
        model.fit(frame[~mine], y[~mine])
        scores[mine] = model.predict_proba(frame[mine])[:, 1]
    return scores
