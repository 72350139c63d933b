"""Prometheus metrics of the server, and the garbage-collector pause watch.

With several worker processes (``modelyard serve --workers N``) every worker writes its values to
files in one folder (prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, set by the
supervisor), and ``/metrics`` on any worker answers for all of them: counters and histograms summed,
gauges summed, maxed or minned as each says. Without it, one scrape would see one worker's counts, and
Prometheus would read the next worker's as a counter reset.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["MULTIPROC_DIR_VARIABLE", "GcWatch", "ServerMetrics"]

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_GC_BUCKETS = (0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class ServerMetrics:
    """Request counts, latencies, batch sizes, queue depth and GC pauses, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.before_render: list[Callable[[], None]] = []  # bring gauges up to date before a scrape
        labels = ("use_case", "version", "role")
        self.requests = Counter(
            "modelyard_requests",
            "Requests answered, by outcome (ok, bad_request, overloaded, error).",
            (*labels, "protocol", "outcome"),
            registry=self.registry,
        )
        self.rows = Counter("modelyard_rows_scored", "Rows scored.", labels, registry=self.registry)
        self.latency = Histogram(
            "modelyard_request_latency_seconds",
            "Time from a request's arrival to its answer.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "modelyard_batch_size_rows", "Rows per model call.", labels, buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.inline_batches = Counter(
            "modelyard_inline_batches",
            "Model calls made on the event loop (a lone request in light traffic), not the scoring thread.",
            labels,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "modelyard_queue_depth",
            "Requests waiting for a batch.",
            labels,
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.shadow_dropped = Counter(
            "modelyard_shadow_dropped",
            "Shadow scorings skipped (queue full or failed).",
            labels,
            registry=self.registry,
        )
        self.logged = Counter(
            "modelyard_predictions_logged", "Predictions handed to the log.", labels, registry=self.registry
        )
        self.deployed = Gauge(
            "modelyard_deployed",
            "1 for each version deployed now, by role.",
            labels,
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.swaps = Counter(
            "modelyard_hot_swaps", "Deployments swapped after a registry change.", ("use_case",), registry=self.registry
        )
        self.poll_failures = Counter(
            "modelyard_registry_poll_failures",
            "Registry polls that failed (the server keeps serving its last deployments meanwhile).",
            registry=self.registry,
        )
        self.last_poll = Gauge(
            "modelyard_registry_last_poll_timestamp_seconds",
            "When the registry was last read successfully (Unix time; with several workers, the stalest's).",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.log_rows = Counter(
            "modelyard_prediction_log_rows",
            "Prediction log rows by outcome: written to the log target, spilled to Parquet files, dropped.",
            ("target", "outcome"),
            registry=self.registry,
        )
        self.log_waiting = Gauge(
            "modelyard_prediction_log_waiting_rows",
            "Prediction log rows not written yet.",
            ("target",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.gc_pause = Histogram(
            "modelyard_gc_pause_seconds",
            "Garbage-collector pauses of this process (gc.callbacks), by generation.",
            ("generation",),
            buckets=_GC_BUCKETS,
            registry=self.registry,
        )
        self.gc_frozen = Gauge(
            "modelyard_gc_frozen_objects",
            "Objects moved to the permanent generation by gc.freeze().",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def render(self) -> bytes:
        for refresh in self.before_render:
            refresh()
        self.gc_frozen.set(gc.get_freeze_count())
        folder = os.environ.get(MULTIPROC_DIR_VARIABLE)
        if folder:  # every worker's values, from the files they all write
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=folder)
            return generate_latest(registry)
        return generate_latest(self.registry)


class GcWatch:
    """Times every collection through ``gc.callbacks``; install once per process, remove on shutdown."""

    def __init__(self, metrics: ServerMetrics | None = None) -> None:
        self._metrics = metrics
        self._local = threading.local()
        self.pauses = 0
        self.total_seconds = 0.0
        self.max_seconds = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._local.t0 = time.perf_counter()
            return
        t0 = getattr(self._local, "t0", None)
        if t0 is None:
            return
        pause = time.perf_counter() - t0
        self.pauses += 1
        self.total_seconds += pause
        self.max_seconds = max(self.max_seconds, pause)
        if self._metrics is not None:
            self._metrics.gc_pause.labels(str(info.get("generation", "?"))).observe(pause)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def summary(self) -> dict[str, float]:
        return {"pauses": self.pauses, "total_seconds": self.total_seconds, "max_seconds": self.max_seconds}
