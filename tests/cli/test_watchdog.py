"""The CLI's watchdog: fires once after its seconds unless closed first, and says which stage ran."""

from __future__ import annotations

import threading
import time

from modelyard.cli._watchdog import Watchdog


def test_fires_once_with_the_running_stage_and_its_time() -> None:
    calls: list[tuple[str | None, float]] = []
    fired = threading.Event()

    def on_timeout(stage: str | None, seconds: float) -> None:
        calls.append((stage, seconds))
        fired.set()

    with Watchdog(0.4, on_timeout) as dog:
        dog.stage("load")
        time.sleep(0.1)
        dog.stage("latency")
        assert fired.wait(5)
    assert dog.fired and len(calls) == 1
    stage, seconds = calls[0]
    assert stage == "latency" and 0.2 <= seconds < 2


def test_closed_in_time_it_never_fires() -> None:
    calls: list[object] = []
    with Watchdog(0.3, lambda *args: calls.append(args)) as dog:
        dog.stage("outputs")
    time.sleep(0.5)
    assert calls == [] and not dog.fired


def test_no_limit_starts_no_thread() -> None:
    for seconds in (None, 0):
        with Watchdog(seconds, lambda *args: None) as dog:
            assert dog.seconds is None and dog._timer is None


def test_a_timer_that_fires_as_the_run_closes_does_nothing() -> None:
    calls: list[object] = []
    dog = Watchdog(60, lambda *args: calls.append(args))
    with dog:
        pass
    dog._fire()  # the timer thread, had it been past cancel() already
    assert calls == [] and not dog.fired
