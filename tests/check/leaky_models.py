"""Deliberately bad scoring functions for the soak tests (importable: saved by import path).

Each does about 0.2 ms of work per call, so a short soak makes a known number of calls. Work, not a
wait on a clock: the soak divides the model's CPU time by a reference task's, and a busy wait does
not slow down with the machine, so a machine that sped up during the soak read as a healthy model
slowing down (+0.24 ms per 10,000 calls in one CI run).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

_COST_S = 0.0002
_KEPT: list[object] = []
_CALLS = [0]


_TURNS: list[int] = []  # loop turns for _COST_S of work, measured at the first call


def _work(frame: pd.DataFrame) -> np.ndarray:
    if not _TURNS:
        _TURNS.append(int(_iterations_per_half_microsecond() * _COST_S / 5e-7))
    _loop(_TURNS[0])
    return np.clip(frame["monthly_charges"].to_numpy(dtype=np.float64) / 120.0, 0.0, 1.0)


def healthy(frame: pd.DataFrame) -> np.ndarray:
    """Nothing kept between calls."""
    return _work(frame)


def appends_to_a_list(frame: pd.DataFrame) -> np.ndarray:
    """Keeps 4 KB of every call in a module-level list: memory grows without end."""
    _KEPT.append(np.ones(512))
    return _work(frame)


def builds_reference_cycles(frame: pd.DataFrame) -> np.ndarray:
    """Keeps 100 small objects in reference cycles per call: full garbage collections grow longer."""
    for _ in range(50):
        a: dict[str, object] = {}
        b = {"a": a}
        a["b"] = b
        _KEPT.append(a)
    return _work(frame)


def _loop(iterations: int) -> int:
    total = 0
    for k in range(iterations):
        total += k
    return total


def _iterations_per_half_microsecond() -> float:
    """How many turns of :func:`_loop` take 0.5 µs of CPU on this machine now (best of 20)."""
    best = min(_timed_loop(20_000) for _ in range(20))
    return 500.0 * 20_000 / max(best, 1)


def _timed_loop(iterations: int) -> int:
    start = time.thread_time_ns()
    _loop(iterations)
    return time.thread_time_ns() - start


_PER_CALL: list[float] = []  # loop turns added per call, measured at the first call


def slows_down(frame: pd.DataFrame) -> np.ndarray:
    """Each call does 0.5 µs more work than the one before (at the machine's speed when the soak
    began): +5 ms per 10,000 calls."""
    if not _PER_CALL:
        _PER_CALL.append(_iterations_per_half_microsecond())
    _CALLS[0] += 1
    _loop(int(_CALLS[0] * _PER_CALL[0]))
    return _work(frame)


def reset() -> None:
    """Forget what the leaky models kept (between tests)."""
    _KEPT.clear()
    _CALLS[0] = 0
    _PER_CALL.clear()


def raises_on_month_to_month(frame: pd.DataFrame) -> np.ndarray:
    """Fails on any row with a month-to-month contract."""
    if (frame["contract"] == "Month-to-month").any():
        raise ValueError("cannot score month-to-month contracts")
    return _work(frame)


def two_column_proba(frame: pd.DataFrame) -> np.ndarray:
    """predict_proba style: two columns per row."""
    p = _work(frame)
    return np.column_stack([1 - p, p])


def proba_column(frame: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame with the score in a column called 'proba'."""
    return pd.DataFrame({"proba": _work(frame)})


def percent(frame: pd.DataFrame) -> np.ndarray:
    """Scores in percent."""
    return _work(frame) * 100.0


def proba_percent(frame: pd.DataFrame) -> pd.DataFrame:
    """Both at once: a 'proba' column in percent."""
    return pd.DataFrame({"proba": _work(frame) * 100.0})


def labels(frame: pd.DataFrame) -> np.ndarray:
    """Returns labels instead of scores."""
    return np.where(_work(frame) > 0.5, "yes", "no")


def random_scores(frame: pd.DataFrame) -> np.ndarray:
    """Not deterministic."""
    return np.random.default_rng().random(len(frame))


def batch_normalised(frame: pd.DataFrame) -> np.ndarray:
    """Depends on the other rows of the batch."""
    t = frame["monthly_charges"].to_numpy(dtype=np.float64)
    return (t - t.min()) / (t.max() - t.min()) if len(t) > 1 and t.max() > t.min() else np.full(len(t), 0.5)


def hard_labels(frame: pd.DataFrame) -> np.ndarray:
    """Returns 0/1 labels (int) in the score's place: month-to-month contracts churn."""
    return (frame["contract"] == "Month-to-month").to_numpy().astype(int)


def bool_labels(frame: pd.DataFrame) -> np.ndarray:
    """The same labels as booleans."""
    return (frame["contract"] == "Month-to-month").to_numpy()


def float_labels(frame: pd.DataFrame) -> np.ndarray:
    """The same labels as floats 0.0 and 1.0: only the values give them away."""
    return (frame["contract"] == "Month-to-month").to_numpy().astype(np.float64)


def two_scores(frame: pd.DataFrame) -> np.ndarray:
    """Only two scores, 0.2 and 0.8: a one-split model."""
    return np.where(frame["contract"].to_numpy() == "Month-to-month", 0.8, 0.2)


def constant(frame: pd.DataFrame) -> np.ndarray:
    """The same score for everyone."""
    return np.full(len(frame), 0.27)
