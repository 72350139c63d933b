"""Waiting for a model server that another process is starting (the demo, the tests, the bench)."""

from __future__ import annotations

import subprocess
import time

__all__ = ["wait_until_ready"]


def wait_until_ready(
    url: str,
    process: subprocess.Popen[bytes] | None = None,
    *,
    timeout: float = 90.0,
    in_a_row: int = 1,
    interval: float = 0.1,
) -> bool:
    """Ask ``{url}/v2/health/ready`` until it answers 200 ``in_a_row`` times running (with several
    workers, one ready answer may come from the first of them). False when ``process`` has exited
    or ``timeout`` seconds have passed first; the caller says why, with the server's output."""
    import httpx

    deadline = time.monotonic() + timeout
    ready = 0
    while True:
        try:
            ready = ready + 1 if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200 else 0
        except httpx.TransportError:
            ready = 0
        if ready >= in_a_row:
            return True
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            return False
        time.sleep(interval)
