"""The model service: routing, batching, shadows, logging and hot swap, with no HTTP in sight.

Routes in :mod:`modelyard.serve._app` parse a protocol into :class:`Rows`, call
:meth:`ModelService.predict`, and encode the :class:`Prediction` it returns. The same object
works from Python (``await service.predict("churn", Rows.from_records([...]))``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelyard._exceptions import DataError, ModelyardError
from modelyard._yard import Yard
from modelyard.serve._batching import MicroBatcher, Retired
from modelyard.serve._deployments import Deployment, Deployments, Slot
from modelyard.serve._errors import NoProductionError
from modelyard.serve._log import LogEntry, PredictionLog, encode_inputs, log_folder_of, open_prediction_log
from modelyard.serve._metrics import GcWatch, ServerMetrics
from modelyard.serve._routing import takes_canary
from modelyard.serve._settings import ServeSettings
from modelyard.serve._validate import RequestContract, Rows, concat_rows

__all__ = ["ModelService", "Prediction"]

_logger = logging.getLogger("modelyard.serve")

_UNKNOWN_USE_CASE = ("(unknown)", "", "")
"""Metric labels of a request for a use case this server does not serve: one series for all of
them, so that made-up names in URLs cannot grow ``/metrics`` (and the server's memory) without end."""


@dataclass(frozen=True)
class Prediction:
    """What one request gets back: a score and a decision per row, and who made them."""

    request_id: str
    use_case: str
    version: int
    role: str
    threshold: float
    scores: np.ndarray
    decisions: np.ndarray

    def records(self) -> list[dict[str, Any]]:
        return [{"score": s, "decision": d} for s, d in zip(self.scores.tolist(), self.decisions.tolist(), strict=True)]


@dataclass(frozen=True)
class _Scored:
    scores: np.ndarray
    seconds: float  # the batch's features and model call, which every part of it shared


class ModelFailure(ModelyardError):
    """The model raised while scoring valid input (a server-side failure, HTTP 500)."""


def _score_parts(slot: Slot, contract: RequestContract, parts: list[Rows]) -> list[_Scored | BaseException]:
    """Score a batch in one call; when one part is bad, score the parts one by one to say which."""
    started = time.perf_counter()
    try:
        features = contract.prepare(concat_rows(parts))
        scores = slot.model.score(features, adapter=contract.score_adapter)
    except DataError as exc:
        if len(parts) == 1:
            return [exc]
        return [r for part in parts for r in _score_parts(slot, contract, [part])]
    except ModelyardError as exc:
        return [exc] * len(parts)
    except Exception as exc:
        failure = ModelFailure(
            f"Version {slot.version} of {slot.use_case!r} failed to score: {type(exc).__name__}: {exc}"
        )
        return [failure] * len(parts)
    seconds = time.perf_counter() - started
    out: list[_Scored | BaseException] = []
    start = 0
    for part in parts:
        out.append(_Scored(scores[start : start + part.n], seconds))
        start += part.n
    return out


class ModelService:
    """Serves every use case of a yard: ``await start()``, ``await predict(...)``, ``await stop()``."""

    def __init__(self, yard: Yard, settings: ServeSettings | None = None) -> None:
        self.yard = yard
        self.settings = settings or ServeSettings()
        self.metrics = ServerMetrics()
        self.gc_watch = GcWatch(self.metrics)
        self.log: PredictionLog | None = None
        if self.settings.log_enabled:
            self.log = open_prediction_log(yard, self.settings, self.log_folder)
            self.log.bind_metrics(self.metrics)
        # OpenMP's thread count is per calling thread: pin it inside the scoring threads themselves
        self._primary_pool = ThreadPoolExecutor(1, "modelyard-score", initializer=self._pin_threads)
        self._shadow_pool = ThreadPoolExecutor(1, "modelyard-shadow", initializer=self._pin_threads)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retired: list[MicroBatcher[Rows, _Scored]] = []
        self.deployments = Deployments(
            yard,
            trust=self.settings.trust,
            extra_fields=self.settings.extra_fields,
            canary_fraction=self.settings.canary_fraction,
            attach=self._attach,
            retire=self._retire,
        )
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._rng = random.Random()
        self.started = False
        self.shadow_tasks: set[asyncio.Future[Any]] = set()

    @property
    def log_folder(self) -> Path:
        return log_folder_of(self.yard, self.settings)

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every deployment, freeze the heap, start the log writer and the registry poller."""
        self._loop = asyncio.get_running_loop()
        self._pin_threads()
        await asyncio.to_thread(self.deployments.refresh)
        self.metrics.last_poll.set_to_current_time()
        self._freeze()
        self.gc_watch.install()
        if self.log is not None:
            self.log.start()
        self._poller = threading.Thread(target=self._poll, name="modelyard-registry-poll", daemon=True)
        self._poller.start()
        self.started = True

    async def stop(self) -> None:
        """Answer what is queued (shadows included), flush the log, stop the threads."""
        self._stopping.set()
        batchers = [s.batcher for d in self.deployments.all() for s in d.slots()] + self._retired
        await asyncio.gather(*(b.drain() for b in batchers if b is not None))
        if self.shadow_tasks:
            await asyncio.gather(*self.shadow_tasks, return_exceptions=True)
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join)
        if self.log is not None:
            await asyncio.to_thread(self.log.close)
        self._primary_pool.shutdown()
        self._shadow_pool.shutdown()
        self.gc_watch.remove()
        self.started = False

    def _pin_threads(self) -> None:
        """Native thread pools (OpenMP, BLAS) sized so that workers x threads <= cores."""
        from threadpoolctl import threadpool_limits

        cores = os.cpu_count() or 1
        threads = max(1, min(self.settings.threads_per_worker, cores // self.settings.workers))
        threadpool_limits(limits=threads)

    def _freeze(self) -> None:
        if self.settings.gc_freeze:
            gc.collect()
            gc.freeze()

    def _poll(self) -> None:
        failing: str | None = None  # the last failure logged, so an outage logs once, not every second
        while not self._stopping.wait(self.settings.poll_seconds):
            try:
                self.refresh()
            except Exception as exc:  # any failure: the poller must outlive it, or stage changes stop arriving
                self.metrics.poll_failures.inc()
                text = exc.message if isinstance(exc, ModelyardError) else f"{type(exc).__name__}: {exc}"
                if text != failing:
                    _logger.warning("registry poll failed, serving the last deployments: %s", text.splitlines()[0])
                failing = text
            else:
                if failing is not None:
                    _logger.warning("registry poll works again")
                failing = None

    def refresh(self) -> list[str]:
        """Read the registry now; swap the use cases whose stages changed. Raises what stopped the read
        (the poller logs it and tries again; ``/admin/reload`` answers it)."""
        changed = self.deployments.refresh()
        self.metrics.last_poll.set_to_current_time()
        if changed:
            for name in changed:
                self.metrics.swaps.labels(name).inc()
                _logger.info("deployment of %s is now %s", name, self.deployments.get(name).describe())
            self._freeze()
        return changed

    # -- batchers --------------------------------------------------------------------------

    def _attach(self, slot: Slot) -> None:
        if slot.batcher is not None:
            return
        labels = (slot.use_case, str(slot.version), slot.role)
        batch_size = self.metrics.batch_size.labels(*labels)
        depth = self.metrics.queue_depth.labels(*labels)
        self.metrics.deployed.labels(*labels).set(1)

        inline_batches = self.metrics.inline_batches.labels(*labels)

        def on_batch(rows: int, waiting: int, inline: bool) -> None:
            batch_size.observe(rows)
            depth.set(waiting)
            if inline:
                inline_batches.inc()

        deployment_contract = self._contract_of(slot.use_case)

        def process(parts: list[Rows]) -> list[_Scored | BaseException]:
            return _score_parts(slot, deployment_contract(), parts)

        s = self.settings
        shadow = slot.role == "shadow"
        fill = shadow and s.shadow_max_wait_ms > 0  # nobody waits for a shadow: one call for many requests
        slot.batcher = MicroBatcher(
            process,
            self._shadow_pool if shadow else self._primary_pool,
            name=f"{slot.use_case} v{slot.version} ({slot.role})",
            max_batch_size=s.max_batch_size,
            max_wait_s=(s.shadow_max_wait_ms if fill else s.max_wait_ms) / 1000,
            queue_limit=s.queue_limit,
            retry_after=s.retry_after_s,
            on_batch=on_batch,
            inline_max_s=0.0 if shadow else s.inline_max_ms / 1000,
            fill=fill,
        )

    def _contract_of(self, name: str) -> Any:
        cache: dict[str, RequestContract] = {}

        def get() -> RequestContract:
            if "c" not in cache:
                cache["c"] = self.deployments.get(name).contract
            return cache["c"]

        return get

    def _retire(self, slot: Slot) -> None:
        self.metrics.deployed.labels(slot.use_case, str(slot.version), slot.role).set(0)
        batcher = slot.batcher
        if batcher is None:
            return
        self._retired.append(batcher)
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(batcher.retire)
        else:
            batcher.retire()

    # -- predicting ------------------------------------------------------------------------

    def _choose(self, deployment: Deployment, rows: Rows, version: int | None) -> Slot:
        if version is not None:
            return deployment.slot(version)
        production = deployment.production
        if production is None:
            raise NoProductionError(deployment.name)
        canary = deployment.canary
        if canary is not None:
            key = deployment.contract.entity_key
            column = rows.columns.get(key) if key else None
            entity = column[0] if column else None
            if takes_canary(deployment.name, entity, deployment.canary_fraction, self._rng):
                return canary
        return production

    async def predict(
        self,
        use_case: str,
        rows: Rows,
        *,
        version: int | None = None,
        request_id: str | None = None,
        protocol: str = "python",
    ) -> Prediction:
        """Score ``rows`` with the version the routing picks (or ``version``); shadows listen in."""
        t0 = time.perf_counter()
        request_id = request_id or uuid.uuid4().hex
        labels = _UNKNOWN_USE_CASE  # a name from the URL gets a series only once it is known to be served
        try:
            deployment = self.deployments.get(use_case)
            labels = (use_case, "", "")
            if rows.n == 0:
                raise DataError("The request has no rows; send at least one record")
            deployment.contract.check_fields(rows.columns)
            for _attempt in range(3):
                slot = self._choose(deployment, rows, version)
                labels = (use_case, str(slot.version), slot.role)
                try:
                    scored = await slot.batcher.submit(rows)
                    break
                except Retired:  # swapped out while we routed: take the new deployment
                    deployment = self.deployments.get(use_case)
            else:  # pragma: no cover - three swaps inside one request
                raise Retired(use_case)
        except ModelyardError as exc:
            outcome = "overloaded" if exc.http_status == 503 else "bad_request" if exc.http_status < 500 else "error"
            self.metrics.requests.labels(*labels, protocol, outcome).inc()
            raise
        latency = time.perf_counter() - t0
        decisions = scored.scores >= slot.threshold
        self.metrics.requests.labels(*labels, protocol, "ok").inc()
        self.metrics.latency.labels(*labels).observe(latency)
        self.metrics.rows.labels(*labels).inc(rows.n)
        inputs = encode_inputs(rows.columns, rows.n) if self.log is not None else b""  # once, for every role
        self._log(request_id, slot, inputs, scored.scores, decisions, latency)
        if deployment.shadows and version is None:
            for shadow in deployment.shadows:
                self._shadow(shadow, rows, request_id, inputs)
        return Prediction(request_id, use_case, slot.version, slot.role, slot.threshold, scored.scores, decisions)

    def _log(
        self, request_id: str, slot: Slot, inputs: bytes, scores: np.ndarray, decisions: np.ndarray, latency: float
    ) -> None:
        """Log one role's answer to a request; ``inputs`` is :func:`encode_inputs` of its rows."""
        if self.log is None:
            return
        self.log.append(
            LogEntry(
                request_id,
                slot.use_case,
                slot.version,
                slot.role,
                time.time(),
                inputs,
                scores,
                decisions,
                latency * 1000,
            )
        )
        self.metrics.logged.labels(slot.use_case, str(slot.version), slot.role).inc(len(scores))

    def _shadow(self, slot: Slot, rows: Rows, request_id: str, inputs: bytes) -> None:
        """Score ``rows`` with a shadow off the response path and log its answer. Its logged latency
        is its batch's scoring time: the wait for company (``shadow_max_wait_ms``) is the server's
        choice, not the version's speed."""
        try:
            future = slot.batcher.submit(rows)
        except (ModelyardError, Retired):
            self.metrics.shadow_dropped.labels(slot.use_case, str(slot.version), slot.role).inc()
            return
        self.shadow_tasks.add(future)

        def done(f: asyncio.Future[_Scored]) -> None:
            self.shadow_tasks.discard(f)
            if f.cancelled() or f.exception() is not None:
                self.metrics.shadow_dropped.labels(slot.use_case, str(slot.version), slot.role).inc()
                return
            scored = f.result()
            self._log(request_id, slot, inputs, scored.scores, scored.scores >= slot.threshold, scored.seconds)

        future.add_done_callback(done)

    # -- describing ------------------------------------------------------------------------

    def ready(self) -> bool:
        return self.started and all(d.production is not None for d in self.deployments.all())

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "generation": self.deployments.generation,
            "deployments": [d.describe() for d in self.deployments.all()],
            "gc": {**self.gc_watch.summary(), "frozen": gc.get_freeze_count()},
            "log": {
                "folder": str(self.log_folder),
                "rows_written": self.log.rows_written if self.log else 0,
                **(self.log.describe() if self.log else {}),
            },
        }
