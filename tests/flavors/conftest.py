"""Small seeded data sets and fitted models shared by the flavor tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    """300 rows, 6 float features with names, binary labels."""
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), y


@pytest.fixture(scope="session")
def mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Float, int, bool and pandas category columns; labels depend on the category."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "amount": rng.normal(100, 30, n),
            "visits": rng.integers(0, 20, n),
            "member": rng.random(n) < 0.3,
            "city": pd.Categorical(rng.choice(["paris", "lyon", "nice", "lille"], n)),
        }
    )
    logit = (df["amount"] - 100) / 30 + (df["city"] == "nice") * 2.0 - (df["city"] == "lille") * 1.5
    y = (logit + rng.normal(0, 0.5, n) > 0).astype(int).to_numpy()
    return df, y
