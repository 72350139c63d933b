"""Soak: call the model over and over, and fit how latency, memory and kept objects grow with the calls.

Each trend is a Theil–Sen line (``scipy.stats.theilslopes``) against the call count with its 95%
interval, reported as growth per 10,000 calls. Latency is summarised per window by its 25th
percentile of the calling thread's CPU time, divided by that of fixed reference work timed beside
each call: other processes on a shared machine slow both alike (cache, memory bandwidth and clock
speed; preemption does not count as CPU time at all), while a model that does more work per call
moves only the ratio. The reference is the call's own input taken out of the frame by pandas,
plus a little numpy and Python: code of the size and kind a model runs. A tiny numeric loop alone
fits in the first-level cache and barely notices a neighbour that a model does notice; on a shared
VM, 10 s soaks of a healthy model drifted by up to 35% against it, and by up to 17% against this.
The wall-clock trend is reported beside it. Memory, kept objects and full-collection pauses are
read at checkpoints right after a full ``gc.collect()``, so only what the model keeps counts, not
garbage waiting to be collected. A trend FAILs only when the whole interval lies above a floor of
practical size and the growth actually seen during the soak exceeds that floor too, so noise and
bounded caches do not fail a healthy model.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import psutil
from scipy.stats import theilslopes

from modelyard.check._latency import ROW_POOL
from modelyard.check._outputs import Scorer
from modelyard.check._result import Check, Status

__all__ = ["DEFAULT_SOAK_SECONDS", "SoakRun", "Trend", "fit_trend", "run_soak", "soak_checks"]

DEFAULT_SOAK_SECONDS = 30.0
PER = 10_000
"""Growth is reported per this many calls."""
_WINDOWS = 40
_CALLS_PER_WINDOW = 25
MIN_CALLS = 500
MAX_CALLS = 500_000
"""The soak stops after this many calls even when time is left."""
"""Fewer calls than this give no latency verdict (WARN): too little evidence to tell growth from noise."""
_WARMUP_SHARE = 0.1
_CHECKPOINTS = 200
_MIN_INTERVAL_S = 0.05
_MAX_POINTS = 300

# What counts as growth: the lower end of the 95% interval must exceed these (per 10,000 calls).
LATENCY_FLOOR_SHARE = 0.05  # 5% of the starting latency
LATENCY_FLOOR_MS = 0.01
LATENCY_OBSERVED_SHARE = 0.25  # and the soak itself must have seen 25% growth
RSS_FLOOR_MB = 1.0
OBJECTS_FLOOR = 1000.0
GC_PAUSE_FLOOR_MS = 1.0


@dataclass(frozen=True)
class Trend:
    """A Theil–Sen line: ``start`` at the first call, ``per`` growth per 10,000 calls with its interval."""

    start: float
    per: float
    low: float
    high: float
    points: int

    def to_dict(self) -> dict[str, float]:
        return {"start": self.start, "per_10k": self.per, "low": self.low, "high": self.high, "points": self.points}


@dataclass
class SoakRun:
    """What the soak recorded: per-call latency, and RSS / kept objects / full-GC pauses at checkpoints."""

    seconds: float
    latency_ns: np.ndarray
    cpu_ns: np.ndarray
    """CPU time of the calling thread per call: what the model itself spent, whatever else the machine ran."""
    samples: list[tuple[int, int, int, float, int]] = field(default_factory=list)
    """Checkpoints: (calls so far, RSS bytes, GC-tracked objects, full-collection ms, malloc bytes in use)."""
    reference_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """CPU time of a fixed reference task run after each call: how fast the machine is at that moment."""

    @property
    def calls(self) -> int:
        return len(self.latency_ns)


def fit_trend(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Trend | None:
    """Theil–Sen slope of ``y`` against call counts ``x``, scaled to growth per 10,000 calls."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(xs) < 5 or np.ptp(xs) == 0:
        return None
    if len(xs) > _MAX_POINTS:  # theilslopes is quadratic in the number of points
        keep = np.linspace(0, len(xs) - 1, _MAX_POINTS).round().astype(int)
        xs, ys = xs[keep], ys[keep]
    slope, intercept, low, high = theilslopes(ys, xs, alpha=0.95)
    return Trend(
        start=float(intercept + slope * xs[0]),
        per=float(slope * PER),
        low=float(low * PER),
        high=float(high * PER),
        points=len(xs),
    )


_REFERENCE = np.arange(20_000, dtype=np.float64)


class _MallInfo2(ctypes.Structure):
    _fields_: ClassVar = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _heap_reader() -> Callable[[], int] | None:
    """Bytes malloc has handed out and not got back (glibc's mallinfo2), or None elsewhere.

    RSS misses a leak while the process still has freed pages to reuse; the bytes in use do not.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def read() -> int:
        info = mallinfo2()
        return int(info.uordblks + info.hblkhd)

    return read


def _reference_work() -> float:
    """A fixed piece of numeric work, timed beside the model with the row's extraction: together
    they slow down only when the machine does."""
    total = float(np.sqrt(_REFERENCE).sum())
    for k in range(200):
        total += k
    return total


def run_soak(scorer: Scorer, frame: pd.DataFrame, seconds: float) -> SoakRun:
    """Call ``scorer`` on one row of ``frame`` at a time for ``seconds``, recording each call's latency.

    At about 200 checkpoints the soak runs a full garbage collection and records how long it took,
    the RSS and the number of objects the GC tracks: what survives a full collection is what the
    model keeps, and the collection's duration is the pause that kept objects cause.
    """
    process = psutil.Process()
    heap = _heap_reader()
    interval = max(_MIN_INTERVAL_S, seconds / _CHECKPOINTS)
    # Preallocated and touched before the first call, so the soak's own records do not grow the
    # memory it measures (Python lists would add 24 bytes a call).
    latencies = np.ones(MAX_CALLS, dtype=np.int64)
    cpu = np.ones(MAX_CALLS, dtype=np.int64)
    reference = np.ones(MAX_CALLS, dtype=np.int64)
    samples: list[tuple[int, int, int, float, int]] = []

    def checkpoint(calls: int) -> None:
        start = time.perf_counter_ns()
        gc.collect()
        pause_ms = (time.perf_counter_ns() - start) / 1e6
        in_use = heap() if heap is not None else process.memory_info().rss
        samples.append((calls, process.memory_info().rss, len(gc.get_objects()), pause_ms, in_use))

    begin = time.perf_counter()
    deadline = begin + seconds
    next_sample = begin
    n = min(len(frame), ROW_POOL)
    i = 0
    while True:
        now = time.perf_counter()
        if now >= next_sample:
            if now >= deadline or i >= MAX_CALLS:
                break
            checkpoint(i)
            next_sample = time.perf_counter() + interval
        start_cpu = time.thread_time_ns()
        row = frame.iloc[[i % n]]  # a new frame per call, as a parsed request; part of the reference
        reference_cpu = time.thread_time_ns() - start_cpu
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        scorer(row)
        cpu[i] = time.thread_time_ns() - start_cpu
        latencies[i] = time.perf_counter_ns() - start
        start_cpu = time.thread_time_ns()
        _reference_work()
        reference[i] = reference_cpu + time.thread_time_ns() - start_cpu
        i += 1
        if i >= MAX_CALLS:
            break
    checkpoint(i)
    return SoakRun(
        time.perf_counter() - begin,
        latencies[:i].copy(),
        cpu[:i].copy(),
        samples,
        reference[:i].copy(),
    )


def _windows(values_ns: np.ndarray) -> tuple[list[float], list[float]] | None:
    """Per-window 25th percentiles (ms) after warm-up, with each window's centre (in calls)."""
    skip = int(len(values_ns) * _WARMUP_SHARE)
    values = values_ns[skip:] / 1e6
    if len(values_ns) < MIN_CALLS:
        return None
    windows = min(_WINDOWS, len(values) // _CALLS_PER_WINDOW)
    edges = np.linspace(0, len(values), windows + 1).astype(int)
    centers = [(skip + (a + b) / 2) for a, b in itertools.pairwise(edges)]
    lows = [float(np.percentile(values[a:b], 25)) for a, b in itertools.pairwise(edges)]
    return centers, lows


def _latency_trend(run: SoakRun) -> tuple[Trend | None, Trend | None, float]:
    """The model's CPU time per call relative to the reference task's, as a trend in ms of the model's
    starting latency; the raw wall-clock trend; and the starting latency (ms)."""
    model, ref, wall = _windows(run.cpu_ns), _windows(run.reference_ns), _windows(run.latency_ns)
    if model is None or ref is None or wall is None:
        return None, None, 0.0
    centers, model_ms = model
    ratio = np.asarray(model_ms) / np.maximum(np.asarray(ref[1]), 1e-9)
    start_ms = float(np.median(model_ms[:3]))
    start_ratio = float(np.median(ratio[:3])) or 1.0
    trend = fit_trend(centers, ratio * (start_ms / start_ratio))
    return trend, fit_trend(*wall), start_ms


def soak_checks(run: SoakRun) -> tuple[list[Check], dict[str, float], dict[str, Any]]:
    """Rows for latency, memory and kept-object growth (and GC pauses); measurements; trend details."""
    rows: list[Check] = []
    details: dict[str, Any] = {"calls": run.calls, "seconds": round(run.seconds, 2)}
    measurements: dict[str, float] = {"soak_calls": float(run.calls), "soak_seconds": run.seconds}
    where = f"{run.calls:,} calls in {run.seconds:.0f} s"

    trend, wall, start_ms = _latency_trend(run)
    if trend is None or wall is None:
        rows.append(
            Check(
                "soak latency",
                Status.WARN,
                f"too few calls to tell latency growth from noise: {where}, at least {MIN_CALLS:,} needed",
                fix="give the soak more time (--soak-seconds)",
            )
        )
    else:
        floor = max(LATENCY_FLOOR_SHARE * start_ms, LATENCY_FLOOR_MS)
        details["latency_cpu_ms"] = trend.to_dict()
        details["latency_wall_ms"] = wall.to_dict()
        measurements["soak_latency_growth_ms_per_10k"] = trend.per
        measurements["soak_wall_latency_growth_ms_per_10k"] = wall.per
        rows.append(
            _trend_row(
                "soak latency",
                trend,
                floor,
                "ms",
                f"{where}; CPU time per call against a reference task; wall-clock trend {wall.per:+.3g} ms "
                f"[{wall.low:+.3g}, {wall.high:+.3g}]",
                start=start_ms,
                observed=trend.per * run.calls / PER,
                observed_floor=LATENCY_OBSERVED_SHARE * start_ms,
                fix="find what each call keeps or rebuilds (caches that grow, lists appended to)",
            )
        )

    skip = int(run.calls * _WARMUP_SHARE)
    kept = [s for s in run.samples if s[0] >= skip]
    rss = fit_trend([s[0] for s in kept], [s[1] / 2**20 for s in kept])
    heap = fit_trend([s[0] for s in kept], [s[4] / 2**20 for s in kept])
    if rss is None or heap is None:
        rows.append(
            Check(
                "soak memory",
                Status.WARN,
                f"too few samples to fit a trend ({where})",
                fix="give the soak more time (--soak-seconds)",
            )
        )
    else:
        details["rss_mb"] = rss.to_dict()
        details["heap_mb"] = heap.to_dict()
        measurements["soak_rss_growth_mb_per_10k"] = rss.per
        measurements["soak_heap_growth_mb_per_10k"] = heap.per
        # Judge on whichever shows more growth: RSS, or the bytes malloc has handed out (which
        # sees a leak even while the process reuses pages it freed earlier).
        use_heap = heap.low > rss.low
        trend, column, what = (heap, 4, "memory in use (malloc)") if use_heap else (rss, 1, "RSS")
        measurements["soak_memory_growth_mb_per_10k"] = trend.per
        observed = (kept[-1][column] - kept[0][column]) / 2**20
        rows.append(
            _trend_row(
                "soak memory",
                trend,
                RSS_FLOOR_MB,
                "MB",
                f"{what}; {where}",
                observed=observed,
                fix="stop keeping data between calls (module-level lists, growing caches)",
            )
        )

    objects = fit_trend([s[0] for s in kept], [s[2] for s in kept])
    if objects is not None:
        details["gc_objects"] = objects.to_dict()
        measurements["soak_objects_growth_per_10k"] = objects.per
        observed = float(kept[-1][2] - kept[0][2])
        rows.append(
            _trend_row(
                "soak kept objects",
                objects,
                OBJECTS_FLOOR,
                "objects",
                where,
                observed=observed,
                fix="objects survive every call: something holds on to them (often reference cycles "
                "or a module-level container); release them, or they make GC pauses grow",
            )
        )

    pause = fit_trend([s[0] for s in kept], [s[3] for s in kept])
    if pause is not None:
        details["gc_pause_ms"] = pause.to_dict()
        measurements["soak_gc_pause_growth_ms_per_10k"] = pause.per
        measurements["soak_gc_pause_max_ms"] = max(s[3] for s in kept)
        observed = float(np.median([s[3] for s in kept[-5:]]) - np.median([s[3] for s in kept[:5]]))
        rows.append(
            _trend_row(
                "soak GC pauses",
                pause,
                GC_PAUSE_FLOOR_MS,
                "ms",
                f"{len(kept)} full collections",
                observed=observed,
                fix="reference cycles kept alive make every full collection longer; break or release them",
            )
        )
    return rows, measurements, details


def _trend_row(
    name: str,
    trend: Trend,
    floor: float,
    unit: str,
    where: str,
    *,
    start: float | None = None,
    observed: float | None = None,
    observed_floor: float | None = None,
    fix: str,
) -> Check:
    fmt = (lambda v: f"{v:+.3g}") if unit != "objects" else (lambda v: f"{v:+,.0f}")
    measured = f"{fmt(trend.per)} {unit} per 10k calls [{fmt(trend.low)}, {fmt(trend.high)}]"
    budget = f"< {floor:.3g} {unit} per 10k" if unit != "objects" else f"< {floor:,.0f} per 10k"
    grows = trend.low > floor
    if grows and observed is not None:  # a single allocator step, a bounded cache is not a trend
        grows = observed > (floor if observed_floor is None else observed_floor)
    base = f" from {start:.3g} {unit}" if start is not None else ""
    if grows:
        return Check(
            name,
            Status.FAIL,
            f"grows by {fmt(trend.per)} {unit} per 10,000 calls{base} (95% interval {fmt(trend.low)} to "
            f"{fmt(trend.high)}; {where})",
            measured=measured,
            budget=budget,
            fix=fix,
            details=trend.to_dict(),
        )
    return Check(name, Status.PASS, f"no growth ({where})", measured=measured, budget=budget, details=trend.to_dict())
