"""Adaptive micro-batching: requests wait in a bounded queue and are scored together.

One :class:`MicroBatcher` per deployed version. Its worker takes every request waiting (up to
``max_batch_size`` rows) and hands them to one vectorised call in a thread. How long it waits for
company adapts to the load it has just seen. When a batch is answered, the requests in it and the
requests queued behind it make the company the next batch expects: the clients whose answers just
went out are about to send again. The next batch lingers (up to ``max_wait``) until that many
requests are waiting, or the batch is full, or the queue is.

With light traffic the last batch held one request and nobody waited behind it, so a request goes
at once (no added latency); and when requests of its size have been scoring within
``inline_max_s``, it is scored on the event loop itself, which saves two thread hand-offs (to the
scoring thread and back). After a pause (no batch answered for ``stale_after``, by default 100
times ``max_wait`` and at least 100 ms: well above a client's round trip, so that steady load from
slow or distant clients still counts as one burst), the burst that set the expectation is over,
and the first request of the next one goes at once too.

A batcher made with ``fill`` (a shadow's: nobody waits for its answers) always lingers for a
full batch, up to ``max_wait``: one model call for many requests instead of one each, so that a
shadow costs the versions that answer as little of the process's time as it can.

Under load, waiting the moment the clients take to come back keeps one model call per round
instead of two. Without the wait, the first request back goes alone and the rest follow in a
second call; and when the clients have split into two groups that alternate (one scored while the
other queues), counting the queued group in brings them back together. A full queue refuses new
requests with :class:`OverloadedError` (HTTP 503 + Retry-After) instead of letting latency grow
without bound.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

from modelyard.serve._errors import OverloadedError

__all__ = ["MicroBatcher", "Retired"]

T = TypeVar("T")  # a request's payload (has ``n`` rows)
R = TypeVar("R")  # its result


class Retired(Exception):
    """This batcher's version was swapped out and its worker has ended: route the request again."""


class MicroBatcher(Generic[T, R]):
    """A bounded queue plus one worker task that scores what waits in batches."""

    def __init__(
        self,
        process: Callable[[list[T]], Sequence[R | BaseException]],
        executor: Executor,
        *,
        name: str,
        max_batch_size: int = 64,
        max_wait_s: float = 0.001,
        queue_limit: int = 512,
        retry_after: int = 1,
        on_batch: Callable[[int, int, bool], None] | None = None,
        stale_after_s: float | None = None,
        inline_max_s: float = 0.0,
        fill: bool = False,
    ) -> None:
        self.name = name
        self._process = process
        self._executor = executor
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.queue_limit = queue_limit
        self.retry_after = retry_after
        self._on_batch = on_batch
        self._queue: collections.deque[tuple[T, asyncio.Future[R]]] = collections.deque()
        self._queued_rows = 0
        self._expected = 1  # requests the next batch waits for: the last batch's plus those queued behind it
        self._stale_after = max(0.1, 100 * max_wait_s) if stale_after_s is None else stale_after_s
        self._answered_at = 0.0  # loop time the last batch was answered
        self._enough: asyncio.Future[None] | None = None  # set when the lingering batch can go
        self._wanted = 0  # requests
        self._room = 0  # rows
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._retired = False
        self._busy = False
        self.inline_max_s = inline_max_s
        self._inline_rows = 0  # largest request size last scored within inline_max_s
        self.inline_calls = 0  # batches scored on the event loop
        self._fill = fill

    @property
    def depth(self) -> int:
        """Requests waiting (not yet in a batch)."""
        return len(self._queue)

    @property
    def idle(self) -> bool:
        return not self._queue and not self._busy

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue ``item``; the future resolves with its result. Must be called on the event loop."""
        if self._retired and (self._task is None or self._task.done()):
            raise Retired(self.name)
        if len(self._queue) >= self.queue_limit:
            raise OverloadedError(
                f"The queue of {self.name} is full ({self.queue_limit} requests waiting); "
                f"retry after {self.retry_after} s, or add server workers",
                retry_after=self.retry_after,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        self._queued_rows += _rows(item)
        if self._enough is not None and not self._enough.done() and self._can_go():
            self._enough.set_result(None)
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name=f"batcher {self.name}")
        else:
            assert self._wakeup is not None
            self._wakeup.set()
        return future

    def retire(self) -> None:
        """Finish what is queued, then stop; later submits raise :class:`Retired`."""
        self._retired = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._enough is not None and not self._enough.done():  # a lingering batch goes now
            self._enough.set_result(None)

    async def drain(self) -> None:
        """Retire and wait until every queued request is answered."""
        self.retire()
        if self._task is not None:
            await self._task

    def _take(self, room: int, *, at_least_one: bool = False) -> list[tuple[T, asyncio.Future[R]]]:
        """Queued requests, oldest first, while their rows fit in ``room`` (with ``at_least_one``,
        the first one whatever its size); cancelled ones are dropped on the way."""
        taken: list[tuple[T, asyncio.Future[R]]] = []
        while self._queue and ((at_least_one and not taken) or _rows(self._queue[0][0]) <= room):
            item = self._queue.popleft()
            rows = _rows(item[0])
            self._queued_rows -= rows
            if item[1].cancelled():
                continue
            taken.append(item)
            room -= rows
        return taken

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._retired:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take(self.max_batch_size, at_least_one=True)
            if loop.time() - self._answered_at > self._stale_after:
                self._expected = 1  # a pause: the clients of the last batch are not about to come back
            room = self.max_batch_size - self._rows(batch)
            wanted = (self.max_batch_size if self._fill else self._expected) - len(batch)
            if batch and self.max_wait_s > 0 and wanted > 0 and room > 0 and not self._retired:
                await self._linger(wanted, room)
                batch.extend(self._take(room))
            if not batch:
                continue
            self._busy = True
            try:
                items = [item for item, _ in batch]
                rows = self._rows(batch)
                started = time.perf_counter()
                inline = self._inline(batch, rows)
                try:
                    if inline:
                        self.inline_calls += 1
                        results: Sequence[Any] = self._process(items)
                    else:
                        results = await loop.run_in_executor(self._executor, self._process, items)
                except BaseException as exc:  # the process function itself broke: fail this batch only
                    results = [exc] * len(batch)
                self._learn_cost(rows, time.perf_counter() - started)
                self._expected = len(batch) + len(self._queue)
                if self._on_batch is not None:
                    self._on_batch(rows, len(self._queue), inline)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                self._answered_at = loop.time()
            finally:
                self._busy = False

    def _inline(self, batch: list[tuple[T, asyncio.Future[R]]], rows: int) -> bool:
        """Score on the event loop itself? Only a lone request in light traffic (nobody queued,
        nobody expected), no larger than a request last seen to score within ``inline_max_s``:
        blocking the loop that briefly delays nobody, and it skips two thread hand-offs."""
        return len(batch) == 1 and not self._queue and self._expected <= 1 and rows <= self._inline_rows

    def _learn_cost(self, rows: int, seconds: float) -> None:
        """Widen or narrow the sizes scored inline by how long this call of ``rows`` rows took."""
        if seconds <= self.inline_max_s:
            self._inline_rows = max(self._inline_rows, rows)
        else:
            self._inline_rows = min(self._inline_rows, rows - 1)

    def _can_go(self) -> bool:
        return (
            len(self._queue) >= self._wanted
            or self._queued_rows >= self._room
            or len(self._queue) >= self.queue_limit  # waiting longer would only turn requests away
        )

    async def _linger(self, wanted: int, room: int) -> None:
        """Wait until ``wanted`` more requests, or ``room`` more rows, are queued, or the queue is
        full, or ``max_wait`` has passed."""
        self._wanted, self._room = wanted, room
        if self._can_go():
            return
        loop = asyncio.get_running_loop()
        self._enough = loop.create_future()
        timer = loop.call_later(self.max_wait_s, _settle, self._enough)
        try:
            await self._enough
        finally:
            timer.cancel()
            self._enough = None

    @staticmethod
    def _rows(batch: list[tuple[T, asyncio.Future[R]]]) -> int:
        return sum(_rows(item) for item, _ in batch)


def _rows(item: Any) -> int:
    return int(getattr(item, "n", 1))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
