"""Several server processes, each with its own listening socket on the same port (``SO_REUSEPORT``).

uvicorn's own ``--workers`` shares one socket between the processes, and whichever process is awake
accepts the connections: keep-alive clients (every load balancer, every SDK) then pile onto one
worker while the others idle. Measured here: 16 keep-alive connections, 2 workers, one of them got
all 16. With a socket per process the kernel spreads new connections over the processes by hash.

The parent only supervises: it forwards SIGTERM/SIGINT (each worker drains its requests and flushes
its prediction log), and starts a worker again if one dies.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import Any

from prometheus_client.multiprocess import mark_process_dead

from modelyard._exceptions import ModelyardError, UsageError
from modelyard._scratch import hold, remove, scratch_folder
from modelyard.serve._metrics import MULTIPROC_DIR_VARIABLE

__all__ = ["free_port_or_fail", "run_workers"]

_logger = logging.getLogger("modelyard.serve")


def _listening_socket(host: str, port: int, *, reuse_port: bool, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def free_port_or_fail(host: str, port: int) -> int:
    """The port to serve on (a free one for 0); a clear error when another program holds it.

    Binding without ``SO_REUSEPORT`` first means a second server on the same port is refused
    instead of quietly sharing the traffic of the first.
    """
    try:
        probe = _listening_socket(host, port, reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"Port {port} on {host} is in use by another program; stop it, or pass another --port"
            ) from None
        raise UsageError(f"Cannot listen on {host}:{port}: {exc.strerror}; check --host and --port") from None
    chosen = int(probe.getsockname()[1])
    probe.close()
    return chosen


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: its own socket, its own app (built from MODELYARD_* settings), uvicorn.

    The socket is bound but not listening until the app has started (asyncio listens when uvicorn
    starts serving it), so the kernel sends no connection to a worker that is still loading models,
    or that fails to start and would reset them. A failure to open the yard is one line, not a traceback.
    """
    import uvicorn

    from modelyard.serve._server import app_from_environment

    if os.environ.get(MULTIPROC_DIR_VARIABLE):  # a worker outliving a SIGKILLed parent keeps the folder
        hold(os.environ[MULTIPROC_DIR_VARIABLE])
    try:
        app = app_from_environment()
    except ModelyardError as exc:
        print(f"modelyard serve: a worker cannot start: {exc.message}", file=sys.stderr, flush=True)
        raise SystemExit(3) from None
    sock = _listening_socket(host, port, reuse_port=True, listen=False)
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])


def restart_delay(failures: int, first: float) -> float:
    """Seconds to wait before starting a worker again after ``failures`` quick deaths in a row:
    doubling from ``first`` up to :data:`MAX_RESTART_DELAY`, so a worker that cannot start (its
    database is down) is not restarted in a tight loop."""
    return min(MAX_RESTART_DELAY, first * 2 ** max(0, failures - 1))


MAX_RESTART_DELAY = 30.0
"""The longest wait between restarts of a worker that keeps dying."""

QUICK_DEATH_SECONDS = 30.0
"""A worker that dies sooner than this after starting counts as a failed start (the delay grows)."""


def run_workers(host: str, port: int, workers: int, options: dict[str, Any], *, first_delay: float = 1.0) -> None:
    """Run ``workers`` processes on ``host:port`` until SIGTERM or SIGINT; then wait for each to drain.

    A worker that dies is started again, after a delay that grows while it keeps dying quickly."""
    port = free_port_or_fail(host, port)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no threads or frozen heap inherited
    # Every worker writes its metrics here and /metrics on any of them answers for all (see _metrics);
    # set before the workers start, as prometheus_client reads it at import.
    metrics_folder = str(scratch_folder("metrics"))  # a SIGKILLed server's folder is swept by the next
    inherited = os.environ.get(MULTIPROC_DIR_VARIABLE)
    os.environ[MULTIPROC_DIR_VARIABLE] = metrics_folder
    stopping = False
    started: dict[int, float] = {}
    failures = [0] * workers

    def start(i: int) -> Any:
        process = context.Process(target=_worker, args=(host, port, options), name="modelyard-serve-worker")
        process.start()
        started[i] = time.monotonic()
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    processes = [start(i) for i in range(workers)]
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        restart_at: dict[int, float] = {}  # worker slot -> when to start it again
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for i, process in enumerate(processes):
                if stopping:
                    break
                if i in restart_at:
                    if now >= restart_at[i]:
                        del restart_at[i]
                        processes[i] = start(i)
                elif not process.is_alive():
                    if process.pid is not None:  # its live gauges (queue depth, deployed) leave with it
                        mark_process_dead(process.pid, metrics_folder)
                    failures[i] = failures[i] + 1 if now - started[i] < QUICK_DEATH_SECONDS else 1
                    delay = restart_delay(failures[i], first_delay)
                    restart_at[i] = now + delay
                    _logger.error(
                        "worker %s exited with code %s; starting another in %.0f s",
                        process.pid,
                        process.exitcode,
                        delay,
                    )
        deadline = time.monotonic() + float(options.get("timeout_graceful_shutdown") or 30) + 10
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        remove(metrics_folder)
        if inherited is None:
            os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROC_DIR_VARIABLE] = inherited
