"""Latency in the production runtime: single-row p50/p99 and a 100-row batch, against the budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelyard.check._outputs import Scorer
from modelyard.check._result import Check, Status

__all__ = ["ROW_POOL", "Latency", "latency_check", "measure_latency"]

_WARMUP_CALLS = 20


@dataclass(frozen=True)
class Latency:
    """Single-row and batch latencies in milliseconds."""

    calls: int
    p50_ms: float
    p99_ms: float
    batch_rows: int
    batch_p50_ms: float

    def to_measurements(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}latency_p50_ms": self.p50_ms,
            f"{prefix}latency_p99_ms": self.p99_ms,
            f"{prefix}batch_{self.batch_rows}_ms": self.batch_p50_ms,
        }


ROW_POOL = 200
"""Single-row calls cycle through this many rows of the sample."""


def measure_latency(
    scorer: Scorer,
    frame: pd.DataFrame,
    *,
    seconds: float = 3.0,
    min_calls: int = 200,
    max_calls: int = 3000,
    batch_rows: int = 100,
    batch_calls: int = 15,
) -> Latency:
    """Call ``scorer`` on one row at a time for about ``seconds`` (at least ``min_calls``), then on batches."""
    # Each call gets a new one-row frame, built outside the timed part, as a parsed request would be
    # (calling pandas again and again on the same frame object makes it keep references).
    pool = min(len(frame), ROW_POOL)
    for i in range(_WARMUP_CALLS):
        scorer(frame.iloc[[i % pool]])
    timings: list[int] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while i < max_calls and (i < min_calls or time.perf_counter() < deadline):
        row = frame.iloc[[i % pool]]
        start = time.perf_counter_ns()
        scorer(row)
        timings.append(time.perf_counter_ns() - start)
        i += 1
    batch = frame.iloc[:batch_rows]
    scorer(batch)
    batch_times = []
    for _ in range(batch_calls):
        start = time.perf_counter_ns()
        scorer(batch)
        batch_times.append(time.perf_counter_ns() - start)
    single = np.asarray(timings, dtype=np.float64) / 1e6
    return Latency(
        calls=len(single),
        p50_ms=float(np.percentile(single, 50)),
        p99_ms=float(np.percentile(single, 99)),
        batch_rows=len(batch),
        batch_p50_ms=float(np.median(batch_times)) / 1e6,
    )


def latency_check(latency: Latency, budget_ms: float | None, threads: int) -> Check:
    """The latency row: single-row p99 against ``budgets.latency_p99_ms``."""
    measured = (
        f"p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms; "
        f"{latency.batch_rows} rows {latency.batch_p50_ms:.1f} ms"
    )
    how = f"{latency.calls:,} single-row calls, {threads} native thread(s), heap frozen after load"
    if budget_ms is None:
        return Check("latency", Status.PASS, f"{how}; no latency budget set", measured=measured)
    budget = f"p99 <= {budget_ms:g} ms"
    if latency.p99_ms <= budget_ms:
        return Check("latency", Status.PASS, how, measured=measured, budget=budget)
    return Check(
        "latency",
        Status.FAIL,
        f"single-row p99 {latency.p99_ms:.2f} ms is over the budget of {budget_ms:g} ms ({how})",
        measured=measured,
        budget=budget,
        fix="make one prediction cheaper (fewer/shallower trees, no per-call pandas work), or raise the budget",
    )
