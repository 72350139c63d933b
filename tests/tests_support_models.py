"""A plain scoring function, importable by name, for the python_function flavor tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def tenure_score(frame: pd.DataFrame) -> np.ndarray:
    """Short tenure, high churn risk: a rule a team might ship before any model."""
    return np.clip(1.0 - frame["tenure"].to_numpy(dtype=float) / 72.0, 0.0, 1.0)
