"""Waiting for a server another process starts: ready, gone, or too slow."""

from __future__ import annotations

import subprocess
import sys
import time

from modelyard.serve._ready import wait_until_ready
from modelyard.serve._workers import free_port_or_fail

from .conftest import LiveServer


def test_a_ready_server_is_seen_at_once(live: LiveServer) -> None:
    t0 = time.monotonic()
    assert wait_until_ready(live.url, in_a_row=3, interval=0.01)
    assert time.monotonic() - t0 < 5


def test_a_process_that_exited_ends_the_wait() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    url = f"http://127.0.0.1:{free_port_or_fail('127.0.0.1', 0)}"
    t0 = time.monotonic()
    assert not wait_until_ready(url, proc, timeout=60)
    assert time.monotonic() - t0 < 5


def test_nobody_listening_times_out() -> None:
    url = f"http://127.0.0.1:{free_port_or_fail('127.0.0.1', 0)}"
    t0 = time.monotonic()
    assert not wait_until_ready(url, timeout=0.3, interval=0.05)
    assert 0.3 <= time.monotonic() - t0 < 5
