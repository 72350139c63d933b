"""Slow scoring functions (importable: saved or checked by import path)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

CALL_SECONDS = 0.2
CALLS = [0]


def slow(frame: pd.DataFrame) -> np.ndarray:
    """Churn scores from monthly charges, after a 0.2 s wait."""
    CALLS[0] += 1
    time.sleep(CALL_SECONDS)
    return np.clip(frame["monthly_charges"].to_numpy(dtype=np.float64) / 120.0, 0.0, 1.0)


def hangs(frame: pd.DataFrame) -> np.ndarray:
    """No call returns, as a model waiting on a lock or a socket."""
    time.sleep(3600)
    return np.zeros(len(frame))


def hangs_in_a_fresh_process(frame: pd.DataFrame) -> np.ndarray:
    """Scores normally, except in the memory stage's fresh process, where no call returns."""
    import sys

    main_spec = getattr(sys.modules["__main__"], "__spec__", None)
    if main_spec is not None and main_spec.name == "modelyard.check._memory":
        time.sleep(3600)
    return np.clip(frame["monthly_charges"].to_numpy(dtype=np.float64) / 120.0, 0.0, 1.0)
