"""Micro-batching: requests share model calls under load; a full queue answers 503 + Retry-After."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from modelyard.serve import OverloadedError, ServeSettings, create_app, read_prediction_log
from modelyard.serve._batching import MicroBatcher, Retired
from modelyard.serve._validate import Rows

from .conftest import LiveServer


def _slow_double(parts: list[Rows]) -> list[Any]:
    time.sleep(0.05)
    return [[2 * v for v in p.columns["x"]] for p in parts]


def test_batcher_groups_waiting_requests_and_keeps_order() -> None:
    sizes: list[int] = []

    async def main() -> list[Any]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_slow_double, pool, name="t", max_batch_size=8, on_batch=lambda n, *_: sizes.append(n))
            futures = [b.submit(Rows({"x": [i]}, 1)) for i in range(10)]
            results = await asyncio.gather(*futures)
            await b.drain()
            return results

    assert asyncio.run(main()) == [[2 * i] for i in range(10)]
    assert sizes == [8, 2]


def _instant_double(parts: list[Rows]) -> list[Any]:
    return [[2 * v for v in p.columns["x"]] for p in parts]


def test_batcher_waits_for_company_only_as_long_as_recent_load_says() -> None:
    """Alone after light traffic: no wait. After a batch of 6, the first request back waits for the
    other 5 (and goes the moment they are there, long before max_wait)."""
    sizes: list[int] = []

    async def main() -> tuple[float, float]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_instant_double, pool, name="t", max_wait_s=0.5, on_batch=lambda n, *_: sizes.append(n))
            t0 = time.perf_counter()
            await b.submit(Rows({"x": [0]}, 1))
            alone = time.perf_counter() - t0
            await asyncio.gather(*(b.submit(Rows({"x": [i]}, 1)) for i in range(6)))  # load: a batch of 6
            t0 = time.perf_counter()
            first = b.submit(Rows({"x": [1]}, 1))
            await asyncio.sleep(0.05)
            rest = [b.submit(Rows({"x": [i]}, 1)) for i in range(5)]
            await asyncio.gather(first, *rest)
            together = time.perf_counter() - t0
            await b.drain()
            return alone, together

    alone, together = asyncio.run(main())
    assert alone < 0.25, "a lone request after light traffic must not wait for max_wait"
    assert sizes[0] == 1 and sizes[1] == 6 and sizes[2] == 6, sizes
    assert 0.05 <= together < 0.4, "it waited for the five, and not for the whole max_wait"


def test_after_a_pause_the_first_request_of_a_new_burst_goes_at_once() -> None:
    """A batch of 6 sets the expectation for the next round, but not after a pause longer than
    ``stale_after``: then a lone request goes without waiting for company."""

    async def main() -> tuple[float, float]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_instant_double, pool, name="t", max_wait_s=0.5, stale_after_s=0.3)
            waits = []
            for pause in (0.0, 0.6):
                await asyncio.gather(*(b.submit(Rows({"x": [i]}, 1)) for i in range(6)))  # a batch of 6
                await asyncio.sleep(pause)
                t0 = time.perf_counter()
                await b.submit(Rows({"x": [1]}, 1))
                waits.append(time.perf_counter() - t0)
            await b.drain()
            return waits[0], waits[1]

    right_after, after_pause = asyncio.run(main())
    assert right_after >= 0.5, "right after the batch it waits max_wait for the five that do not come"
    assert after_pause < 0.25, "after a pause the expectation is stale: no wait"


def test_two_groups_that_alternate_are_brought_back_together() -> None:
    """Group B queued while group A was in the model: when A is answered, B waits for A's clients to
    come back, so the two share the next model call instead of alternating, a call each."""
    sizes: list[int] = []

    async def main() -> None:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_slow_double, pool, name="t", max_wait_s=0.5, on_batch=lambda n, *_: sizes.append(n))
            group_a = [b.submit(Rows({"x": [i]}, 1)) for i in range(3)]
            await asyncio.sleep(0.01)  # A is in the model
            group_b = [b.submit(Rows({"x": [i]}, 1)) for i in range(2)]
            await asyncio.gather(*group_a)
            again = []
            for i in range(3):  # A's clients take a moment each to send again
                await asyncio.sleep(0.01)
                again.append(b.submit(Rows({"x": [i]}, 1)))
            await asyncio.gather(*group_b, *again)
            await b.drain()

    asyncio.run(main())
    assert sizes == [3, 5]


def test_one_big_request_does_not_make_the_next_lone_one_wait() -> None:
    """The wait counts requests, not rows: a 64-row request alone is light traffic."""

    async def main() -> float:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_instant_double, pool, name="t", max_wait_s=0.5, max_batch_size=64)
            await b.submit(Rows({"x": list(range(64))}, 64))
            t0 = time.perf_counter()
            await b.submit(Rows({"x": [1]}, 1))
            waited = time.perf_counter() - t0
            await b.drain()
            return waited

    assert asyncio.run(main()) < 0.25


class _ThreadRecorder:
    """Doubles its input and notes the thread it ran on; sleeps ``cost`` seconds per call."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.cost = 0.0

    def __call__(self, parts: list[Rows]) -> list[Any]:
        self.threads.append(threading.get_ident())
        time.sleep(self.cost)
        return _instant_double(parts)


def test_a_lone_request_in_light_traffic_is_scored_on_the_event_loop() -> None:
    """Once a request of its size has been seen to score quickly, a lone request skips the thread
    hand-offs; a larger one, a slow one, or one with company goes to the scoring thread."""
    record = _ThreadRecorder()

    async def main() -> tuple[int, MicroBatcher[Rows, Any]]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(record, pool, name="t", max_wait_s=0.0, inline_max_s=0.02)
            one = Rows({"x": [1]}, 1)
            assert await b.submit(one) == [2]  # first of its size: the thread, timed
            assert await b.submit(one) == [2]  # now known to be quick: the loop
            await b.submit(Rows({"x": [1, 2, 3]}, 3))  # larger than any seen: the thread
            await b.submit(Rows({"x": [1, 2]}, 2))  # within the size seen: the loop
            record.cost = 0.05
            await b.submit(one)  # the loop (known quick), but took too long ...
            record.cost = 0.0
            await b.submit(one)  # ... so the thread again, and quick ...
            await b.submit(one)  # ... so the loop again
            await asyncio.gather(*(b.submit(one) for _ in range(3)))  # company: the thread
            await b.drain()
            return threading.get_ident(), b

    loop_thread, b = asyncio.run(main())
    on_loop = [t == loop_thread for t in record.threads]
    assert on_loop == [False, True, False, True, True, False, True, False], on_loop
    assert b.inline_calls == 4


def test_inline_scoring_is_off_when_its_limit_is_zero() -> None:
    record = _ThreadRecorder()

    async def main() -> int:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(record, pool, name="t", max_wait_s=0.0)
            for _ in range(3):
                await b.submit(Rows({"x": [1]}, 1))
            await b.drain()
            return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(record.threads) == 3 and loop_thread not in record.threads


def test_a_full_queue_ends_the_wait_instead_of_refusing_requests() -> None:
    sizes: list[int] = []

    async def main() -> tuple[float, int]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(
                _instant_double, pool, name="t", max_wait_s=0.5, queue_limit=4, on_batch=lambda n, *_: sizes.append(n)
            )
            b._expected = 8  # as just after rounds of 8 (more than this queue can hold at once)
            b._answered_at = asyncio.get_running_loop().time()
            t0 = time.perf_counter()
            first = b.submit(Rows({"x": [0]}, 1))
            await asyncio.sleep(0.02)  # the worker takes it and waits for 7 more
            rest = [b.submit(Rows({"x": [i]}, 1)) for i in range(4)]  # the queue is full at 4
            await asyncio.gather(first, *rest)
            waited = time.perf_counter() - t0
            await b.drain()
            return waited, sizes[-1]

    waited, last = asyncio.run(main())
    assert waited < 0.3, "a full queue must end the wait: waiting longer only turns requests away"
    assert last == 5


def test_a_filling_batcher_gathers_requests_that_arrive_one_by_one() -> None:
    """A shadow's batcher (``fill``) waits up to max_wait for a full batch even in light traffic,
    where an answering version's batcher sends each lone request at once."""

    async def arrivals(fill: bool) -> list[int]:
        sizes: list[int] = []
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(
                _instant_double, pool, name="t", max_wait_s=0.3, fill=fill, on_batch=lambda n, *_: sizes.append(n)
            )
            futures = []
            for i in range(5):
                futures.append(b.submit(Rows({"x": [i]}, 1)))
                await asyncio.sleep(0.01)
            assert await asyncio.gather(*futures) == [[2 * i] for i in range(5)]
            await b.drain()
        return sizes

    assert asyncio.run(arrivals(fill=False)) == [1, 1, 1, 1, 1]
    assert asyncio.run(arrivals(fill=True)) == [5]


def test_retiring_a_filling_batcher_sends_its_lingering_batch_at_once() -> None:
    async def main() -> tuple[list[Any], float]:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_instant_double, pool, name="t", max_wait_s=30.0, fill=True)
            futures = [b.submit(Rows({"x": [i]}, 1)) for i in range(3)]
            await asyncio.sleep(0.02)  # the worker lingers for 61 more
            t0 = time.perf_counter()
            await b.drain()
            return await asyncio.gather(*futures), time.perf_counter() - t0

    results, drained = asyncio.run(main())
    assert results == [[0], [2], [4]]
    assert drained < 5.0, "a server stopping must not wait out a shadow's max_wait"


def test_batcher_refuses_beyond_its_queue_limit() -> None:
    async def main() -> None:
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(_slow_double, pool, name="churn v1", queue_limit=2, retry_after=3)
            first = [b.submit(Rows({"x": [i]}, 1)) for i in range(2)]
            with pytest.raises(OverloadedError, match=r"The queue of churn v1 is full \(2 requests waiting\)") as err:
                b.submit(Rows({"x": [9]}, 1))
            assert err.value.retry_after == 3 and err.value.http_status == 503
            await asyncio.gather(*first)
            await b.drain()
            with pytest.raises(Retired):
                b.submit(Rows({"x": [1]}, 1))

    asyncio.run(main())


def test_a_failing_part_fails_only_its_request(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    bad = dict(raw_rows[0], tenure=-5)

    def send(i: int) -> int:
        return client.post("/predict/churn", json=bad if i == 3 else raw_rows[i]).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(send, range(16)))
    assert codes[3] == 400 and codes.count(200) == 15


def test_concurrent_requests_are_batched(live: LiveServer, raw_rows: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as c, ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda r: c.post("/predict/churn", json=r).status_code, raw_rows[:160]))
    assert codes == [200] * 160
    metrics = live.service.metrics
    hist = metrics.batch_size.labels("churn", "1", "production")
    count = next(s.value for m in hist.collect() for s in m.samples if s.name.endswith("_count"))
    assert count < 160  # fewer model calls than requests


def test_overload_answers_503_with_retry_after(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]]
) -> None:
    tight = settings.model_copy(update={"queue_limit": 1, "max_batch_size": 1, "retry_after_s": 2})
    with LiveServer(create_app(serve_yard, settings=tight)) as live:
        codes: list[int] = []
        retry: set[str] = set()
        lock = threading.Lock()

        def send(row: dict[str, Any]) -> None:
            with httpx.Client(base_url=live.url, timeout=30) as c:
                r = c.post("/predict/churn", json=row)
            with lock:
                codes.append(r.status_code)
                if r.status_code == 503:
                    retry.add(r.headers["retry-after"])
                    assert "is full" in r.json()["error"]["message"]

        with ThreadPoolExecutor(24) as pool:
            list(pool.map(send, raw_rows[:96]))
    assert set(codes) <= {200, 503} and 503 in codes and 200 in codes
    assert retry == {"2"}


def test_sequential_requests_skip_the_thread_but_shadows_never_block_the_loop(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]]
) -> None:
    """The test model (a logistic regression behind a column transformer) takes several ms a row
    on a slow machine: the limit is raised so that the routing, not the machine, is under test."""
    settings = settings.model_copy(update={"inline_max_ms": 1000.0})
    with LiveServer(create_app(serve_yard, settings=settings)) as live, httpx.Client(base_url=live.url) as client:
        for row in raw_rows[:5]:
            assert client.post("/predict/churn", json=[row]).status_code == 200
        deployment = live.app.state.service.deployments.get("churn")
        assert deployment.production.batcher.inline_calls == 4  # the first of its size is timed on the thread
        metrics = client.get("/metrics").text
        assert 'modelyard_inline_batches_total{role="production",use_case="churn",version="1"} 4.0' in metrics
        shadow = deployment.shadows[0].batcher
        assert shadow.inline_max_s == 0 and shadow.inline_calls == 0


def test_a_shadow_scores_sequential_requests_in_one_call(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]]
) -> None:
    """Requests one after another: production answers each at once, the shadow scores them together
    (one model call, not one per request) and logs every one."""
    settings = settings.model_copy(update={"shadow_max_wait_ms": 2000.0})
    logged = 'modelyard_predictions_logged_total{role="shadow",use_case="churn",version="2"} 5.0'
    with LiveServer(create_app(serve_yard, settings=settings)) as live, httpx.Client(base_url=live.url) as client:
        t0 = time.perf_counter()
        for row in raw_rows[:5]:
            assert client.post("/predict/churn", json=[row]).status_code == 200
        answered = time.perf_counter() - t0
        deadline = time.monotonic() + 20
        while logged not in (metrics := client.get("/metrics").text) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert logged in metrics
    if answered < 1.5:  # all five reached the shadow's queue before its batch left
        assert 'modelyard_batch_size_rows_count{role="shadow",use_case="churn",version="2"} 1.0' in metrics
        assert 'modelyard_batch_size_rows_sum{role="shadow",use_case="churn",version="2"} 5.0' in metrics
        log = read_prediction_log(settings.log_folder, "churn")
        shadow = log[log["role"] == "shadow"]
        assert len(shadow) == 5 and shadow["latency_ms"].nunique() == 1  # one batch, scored once
        assert shadow["latency_ms"].iloc[0] < 1000, "the wait for company is not the shadow's latency"
