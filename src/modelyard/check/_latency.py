"""Latency in the production runtime: single-row p50/p99 and a 100-row batch, against the budget."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelyard.check._outputs import Scorer
from modelyard.check._result import Check, Status

__all__ = [
    "NO_BUDGET_MAX_SECONDS",
    "ROW_POOL",
    "Latency",
    "latency_check",
    "measure_latency",
    "over_budget_needed",
]

_WARMUP_CALLS = 20


@dataclass(frozen=True)
class Latency:
    """Single-row and batch latencies in milliseconds."""

    calls: int
    p50_ms: float
    p99_ms: float
    batch_rows: int
    batch_p50_ms: float
    stopped_early: str | None = None
    """Why fewer calls than asked for were made (a slow model), or None."""

    def to_measurements(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}latency_p50_ms": self.p50_ms,
            f"{prefix}latency_p99_ms": self.p99_ms,
            f"{prefix}batch_{self.batch_rows}_ms": self.batch_p50_ms,
        }


ROW_POOL = 200
"""Single-row calls cycle through this many rows of the sample."""

NO_BUDGET_MAX_SECONDS = 60.0
"""Without a latency budget, single-row calls stop after this long even short of ``min_calls``."""


def over_budget_needed(calls: int, quantile: float = 99.0) -> int:
    """How many of ``calls`` values over a budget make their ``quantile`` percentile (numpy's linear
    interpolation) over it whatever the other values are: 3 of 200 for the p99."""
    return calls - math.floor(quantile / 100 * (calls - 1))


def measure_latency(
    scorer: Scorer,
    frame: pd.DataFrame,
    *,
    seconds: float = 3.0,
    min_calls: int = 200,
    max_calls: int = 3000,
    batch_rows: int = 100,
    batch_calls: int = 15,
    budget_ms: float | None = None,
) -> Latency:
    """Call ``scorer`` on one row at a time for about ``seconds`` (at least ``min_calls``), then on batches.

    A slow model is not called ``min_calls`` times when that cannot change the verdict: once
    ``seconds`` have passed, the calls stop as soon as enough of them are over ``budget_ms`` to put
    the p99 of ``min_calls`` calls over it, or, with no budget, after :data:`NO_BUDGET_MAX_SECONDS`.
    Warm-up and batch calls stop after ``seconds`` only when a call is over the budget (or there is
    none): a model within its budget is called as many times as ever.
    """
    # Each call gets a new one-row frame, built outside the timed part, as a parsed request would be
    # (calling pandas again and again on the same frame object makes it keep references).
    pool = min(len(frame), ROW_POOL)
    budget_ns = None if budget_ms is None else budget_ms * 1e6
    warm_until = time.perf_counter() + seconds
    for i in range(_WARMUP_CALLS):
        start = time.perf_counter_ns()
        scorer(frame.iloc[[i % pool]])
        if time.perf_counter() > warm_until and _over(time.perf_counter_ns() - start, budget_ns):
            break  # a slow model, over its budget: fewer warm-up calls cannot change its verdict
    timings: list[int] = []
    begin = time.perf_counter()
    deadline = begin + seconds
    needed = over_budget_needed(min_calls)
    over = 0
    stopped = None
    i = 0
    while i < max_calls and (i < min_calls or time.perf_counter() < deadline):
        row = frame.iloc[[i % pool]]
        start = time.perf_counter_ns()
        scorer(row)
        took = time.perf_counter_ns() - start
        timings.append(took)
        over += budget_ns is not None and took > budget_ns
        i += 1
        if i >= min_calls or time.perf_counter() < deadline:
            continue
        if budget_ns is not None and over >= needed:
            stopped = (
                f"stopped after {i:,} of {min_calls:,} calls: {over:,} were over the budget, which puts "
                f"the p99 of {min_calls:,} calls over it whatever the rest take"
            )
            break
        if budget_ns is None and time.perf_counter() - begin > NO_BUDGET_MAX_SECONDS:
            stopped = f"stopped after {i:,} of {min_calls:,} calls, at {NO_BUDGET_MAX_SECONDS:g} s"
            break
    batch = frame.iloc[:batch_rows]
    scorer(batch)
    batch_times = []
    batch_until = time.perf_counter() + seconds
    for _ in range(batch_calls):
        start = time.perf_counter_ns()
        scorer(batch)
        batch_times.append(time.perf_counter_ns() - start)
        if time.perf_counter() > batch_until and _over(batch_times[-1], budget_ns):
            break  # a few calls give a slow model's median
    single = np.asarray(timings, dtype=np.float64) / 1e6
    return Latency(
        calls=len(single),
        p50_ms=float(np.percentile(single, 50)),
        p99_ms=float(np.percentile(single, 99)),
        batch_rows=len(batch),
        batch_p50_ms=float(np.median(batch_times)) / 1e6,
        stopped_early=stopped,
    )


def _over(took_ns: float, budget_ns: float | None) -> bool:
    """Whether a call took longer than the budget; with no budget, every call counts as slow."""
    return budget_ns is None or took_ns > budget_ns


def latency_check(latency: Latency, budget_ms: float | None, threads: int) -> Check:
    """The latency row: single-row p99 against ``budgets.latency_p99_ms``."""
    measured = (
        f"p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms; "
        f"{latency.batch_rows} rows {latency.batch_p50_ms:.1f} ms"
    )
    how = f"{latency.calls:,} single-row calls, {threads} native thread(s), heap frozen after load"
    if latency.stopped_early:
        how = f"{how}; {latency.stopped_early}"
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
