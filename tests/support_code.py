"""Importable helpers for tests: code that must live in a real module (registered functions,
targets of spawned processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def tenure_score(frame: pd.DataFrame) -> np.ndarray:
    """Short tenure, high churn risk: a rule a team might ship before any model."""
    return np.clip(1.0 - frame["tenure"].to_numpy(dtype=float) / 72.0, 0.0, 1.0)


def promote_in_process(root: str, url: str, version: int, barrier: Any, results: Any) -> None:
    """Open the yard, wait for the other process, promote ``version``; report the outcome."""
    from modelyard import Settings, Yard

    with Yard(Settings(root=Path(root), database_url=url, author=f"proc-{version}")) as yard:
        barrier.wait()
        try:
            yard.registry.promote("churn", version, reason=f"race for v{version}")
            results.put((version, "ok"))
        except Exception as exc:  # reported to the parent, which fails the test with it
            results.put((version, f"{type(exc).__name__}: {exc}"))


def tenure_percent(frame: pd.DataFrame) -> np.ndarray:
    """The same rule answering in percent, as some research code does: needs a {scale: 0.01} adapter."""
    return 100.0 * tenure_score(frame)


def reversed_churn_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The demo's feature code with its rows returned last first (index kept), as a sort would."""
    from modelyard.demo.features import churn_features

    return churn_features(raw).iloc[::-1]


def fresh_index_churn_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The demo's feature code on a fresh 0..n-1 index, as code building a frame from arrays does."""
    from modelyard.demo.features import churn_features

    return churn_features(raw).reset_index(drop=True)
