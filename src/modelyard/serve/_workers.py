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
import time
from typing import Any

from modelyard._exceptions import UsageError

__all__ = ["free_port_or_fail", "run_workers"]

_logger = logging.getLogger("modelyard.serve")


def _listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
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
    """One worker process: its own socket, its own app (built from MODELYARD_* settings), uvicorn."""
    import uvicorn

    from modelyard.serve._server import app_from_environment

    sock = _listening_socket(host, port, reuse_port=True)
    config = uvicorn.Config(app_from_environment(), **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(host: str, port: int, workers: int, options: dict[str, Any], *, restart_delay: float = 1.0) -> None:
    """Run ``workers`` processes on ``host:port`` until SIGTERM or SIGINT; then wait for each to drain."""
    port = free_port_or_fail(host, port)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no threads or frozen heap inherited
    stopping = False

    def start() -> Any:
        process = context.Process(target=_worker, args=(host, port, options), name="modelyard-serve-worker")
        process.start()
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    processes = [start() for _ in range(workers)]
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    _logger.error("worker %s exited with code %s; starting another", process.pid, process.exitcode)
                    time.sleep(restart_delay)
                    processes[i] = start()
        deadline = time.monotonic() + float(options.get("timeout_graceful_shutdown") or 30) + 10
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
