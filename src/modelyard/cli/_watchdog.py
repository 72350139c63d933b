"""A time limit for a long command: a model call that never returns ends the run with a message."""

from __future__ import annotations

import contextlib
import faulthandler
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

__all__ = ["Watchdog"]


class Watchdog:
    """Call ``on_timeout(stage, stage_seconds)`` once, on its own thread, if still open after ``seconds``.

    ``stage(name)`` records what is running, so the message can say where the run was stuck. The
    callback runs while the stuck call still holds the main thread; the CLI's ends the process.
    ``seconds`` of None or 0 sets no limit.

    A thread needs the GIL, and a call stuck in C code that holds it keeps the callback from ever
    running. With ``backstop_s``, :func:`faulthandler.dump_traceback_later` (a C thread) then ends
    the process that much later, printing each thread's stack.
    """

    def __init__(
        self,
        seconds: float | None,
        on_timeout: Callable[[str | None, float], None],
        *,
        backstop_s: float | None = None,
    ) -> None:
        self.seconds = seconds or None
        self.backstop_s = backstop_s
        self._on_timeout = on_timeout
        self._running: tuple[str | None, float] = (None, time.monotonic())  # one assignment: read whole
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # the run ends either in time or by the callback, never both
        self._closed = False
        self.fired = False

    def stage(self, name: str) -> None:
        """Record that stage ``name`` starts now."""
        self._running = (name, time.monotonic())

    def __enter__(self) -> Watchdog:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
            if self.backstop_s is not None:  # not where stderr has no file descriptor (a test runner's)
                with contextlib.suppress(ValueError, OSError, AttributeError, RuntimeError):
                    faulthandler.dump_traceback_later(self.seconds + self.backstop_s, exit=True, file=sys.__stderr__)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            if self.backstop_s is not None:
                faulthandler.cancel_dump_traceback_later()

    def _fire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.fired = True
            stage, started = self._running
            self._on_timeout(stage, time.monotonic() - started)
