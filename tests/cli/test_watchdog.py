"""The CLI's watchdog: fires once after its seconds unless closed first, says which stage ran, and has
a backstop for a call that holds the GIL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from modelyard.cli._watchdog import Watchdog


def test_fires_once_with_the_running_stage_and_its_time() -> None:
    calls: list[tuple[str | None, float]] = []
    fired = threading.Event()

    def on_timeout(stage: str | None, seconds: float) -> None:
        calls.append((stage, seconds))
        fired.set()

    with Watchdog(1.5, on_timeout) as dog:
        dog.stage("load")
        dog.stage("latency")
        assert fired.wait(30)
    assert dog.fired and len(calls) == 1
    stage, seconds = calls[0]
    assert stage == "latency" and 1.0 <= seconds < 30


def test_closed_in_time_it_never_fires() -> None:
    calls: list[object] = []
    with Watchdog(0.3, lambda *args: calls.append(args)) as dog:
        dog.stage("outputs")
    time.sleep(0.5)
    assert calls == [] and not dog.fired


def test_a_timer_that_fires_as_the_run_closes_does_nothing() -> None:
    calls: list[object] = []
    dog = Watchdog(60, lambda *args: calls.append(args))
    with dog:
        pass
    dog._fire()  # the timer thread, had it been past cancel() already
    assert calls == [] and not dog.fired


def test_no_limit_starts_no_thread() -> None:
    for seconds in (None, 0):
        with Watchdog(seconds, lambda *args: None) as dog:
            assert dog.seconds is None and dog._timer is None


def test_a_call_holding_the_gil_is_ended_by_the_backstop() -> None:
    """Catastrophic backtracking in ``re`` never releases the GIL: the timer thread cannot run."""
    script = (
        "import re, sys\n"
        "from modelyard.cli._watchdog import Watchdog\n"
        "with Watchdog(1, lambda *a: print('timer ran', flush=True), backstop_s=1):\n"
        "    re.match(r'(a+)+$', 'a' * 64 + 'b')\n"
        "print('finished', flush=True)\n"
    )
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "finished" not in done.stdout
    assert "Timeout" in done.stderr and "<string>" in done.stderr  # faulthandler's dump names the stuck line
    assert time.monotonic() - start < 60
