"""Determinism (the same rows twice) and batch/single consistency (100 rows at once vs one by one)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from modelyard.check._outputs import Scorer
from modelyard.check._result import Check, Status

__all__ = [
    "BATCH_ROWS",
    "DETERMINISM_TOLERANCE",
    "SINGLE_MIN_ROWS",
    "SINGLE_SECONDS",
    "SINGLE_TOLERANCE",
    "determinism_checks",
]

DETERMINISM_TOLERANCE = 1e-12
"""Largest absolute difference allowed between two scorings of the same rows."""
SINGLE_TOLERANCE = 1e-6
"""Largest absolute difference allowed between a row scored in a batch and scored alone."""
BATCH_ROWS = 100
SINGLE_SECONDS = 20.0
"""One-row calls stop after this long (a slow model), once :data:`SINGLE_MIN_ROWS` rows are scored."""
SINGLE_MIN_ROWS = 10


def determinism_checks(
    scorer: Scorer, frame: pd.DataFrame, first: np.ndarray, *, budget_ms: float | None = None
) -> list[Check]:
    """Score ``frame`` again and compare with ``first``; then 100 rows in one batch vs one at a time.

    One-row calls stop after :data:`SINGLE_SECONDS` (and :data:`SINGLE_MIN_ROWS` rows) only when
    they take longer than ``budget_ms`` on average, or there is no budget.
    """
    again = np.asarray(scorer(frame), dtype=np.float64)
    rows = [_compare("determinism", first, again, frame, DETERMINISM_TOLERANCE, "scored twice")]
    batch = frame.iloc[:BATCH_ROWS]
    together = np.asarray(scorer(batch), dtype=np.float64)
    alone: list[float] = []
    begin = time.perf_counter()
    for i in range(len(batch)):
        alone.append(float(scorer(batch.iloc[[i]])[0]))
        spent = time.perf_counter() - begin
        slow = budget_ms is None or spent / len(alone) * 1e3 > budget_ms
        if len(alone) >= SINGLE_MIN_ROWS and spent > SINGLE_SECONDS and slow:
            break
    n = len(alone)
    how = "in a batch vs alone"
    if n < len(batch):
        how += (
            f" (the first {n} of {len(batch)}: one-row calls took {(time.perf_counter() - begin) / n * 1e3:,.0f} ms "
            f"each, so they stopped at {SINGLE_SECONDS:g} s)"
        )
    rows.append(_compare("batch = single", together[:n], np.array(alone), batch.iloc[:n], SINGLE_TOLERANCE, how))
    return rows


def _compare(name: str, a: np.ndarray, b: np.ndarray, frame: pd.DataFrame, tolerance: float, how: str) -> Check:
    diff = np.abs(a - b)
    diff = np.where(np.isnan(a) & np.isnan(b), 0.0, diff)
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = float(diff.max()) if diff.size else 0.0
    measured = f"max |diff| {worst:.3g}"
    budget = f"<= {tolerance:g}"
    if worst <= tolerance:
        return Check(name, Status.PASS, f"{len(a):,} rows {how} agree", measured=measured, budget=budget)
    differing = np.flatnonzero(diff > tolerance)
    first = int(differing[0])
    return Check(
        name,
        Status.FAIL,
        f"{len(differing):,} of {len(a):,} rows differ when {how}, e.g. row {first} "
        f"(index {frame.index[first]!r}): {a[first]:.6g} vs {b[first]:.6g}",
        measured=measured,
        budget=budget,
        fix="remove randomness and state from predict (seed it, do not keep data between calls)"
        if name == "determinism"
        else "make predict treat each row on its own (no per-batch statistics or normalisation)",
        details={"rows": differing[:20].tolist(), "max_abs_diff": worst},
    )
