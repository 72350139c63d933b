"""Benchmark of the model server: throughput and latency early vs late, with and without gc.freeze,
and failed requests during a hot swap.

    .venv/bin/python bench/serve.py [--seconds 25] [--concurrency 16]

Builds the demo yard in a temporary folder (HistGradientBoosting challenger in production), starts
``modelyard.serve.serve`` in a subprocess on 127.0.0.1, and drives it from this process with a small
keep-alive HTTP/1.1 load generator on asyncio (single-row JSON requests to ``/predict/churn``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    done_at: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _load(
    port: int, body: bytes, *, concurrency: int, seconds: float, max_requests: int, parse_version: bool = False
) -> Run:
    run = Run()
    request = (
        b"POST /predict/churn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    deadline = time.perf_counter() + seconds
    sent = 0

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                t0 = time.perf_counter()
                try:
                    writer.write(request)
                    status, payload = await _read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    run.statuses.append(0)
                    run.latencies.append(time.perf_counter() - t0)
                    run.done_at.append(time.perf_counter())
                    run.versions.append(-1)
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                t1 = time.perf_counter()
                run.latencies.append(t1 - t0)
                run.done_at.append(t1)
                run.statuses.append(status)
                if parse_version:
                    run.versions.append(orjson.loads(payload).get("version", -1) if status == 200 else -1)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return run


def _window(run: Run, start: int, size: int = 1000) -> tuple[float, float, float]:
    lat = np.array(run.latencies[start : start + size]) * 1000
    span = run.done_at[start + size - 1] - run.done_at[start] if len(lat) > 1 else float("nan")
    return (len(lat) - 1) / span, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


def _build_yard(folder: Path) -> None:
    from rich.console import Console

    from modelyard.demo import run_demo

    yard = run_demo(folder, console=Console(file=io.StringIO()))
    challenger = next(mv for mv in yard.models("churn") if mv.tags.get("kind") == "challenger")
    if challenger.stage.value != "production":  # the registry itself: no evaluation policy in a bench
        yard.registry.promote("churn", challenger.version, reason="bench: the HistGradientBoosting challenger serves")
    yard.close()


@contextlib.contextmanager
def _server(folder: Path, port: int, **settings: Any) -> Any:
    env = dict(os.environ)
    for key, value in settings.items():
        env[f"MODELYARD_SERVE_{key.upper()}"] = str(value)
    env["MODELYARD_SERVE_LOG_FOLDER"] = str(folder / "predictions")
    script = textwrap.dedent(
        f"""
        from modelyard import open_yard
        from modelyard.serve import serve
        serve(open_yard({str(folder)!r}), "127.0.0.1", {port}, 1, log_level="warning")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def _in_process_predict_ms(folder: Path, body: bytes) -> float:
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from modelyard import open_yard
    from modelyard.demo.features import churn_features

    with open_yard(folder) as yard, threadpool_limits(1):  # as the server pins itself
        model = yard.load("churn", "production")
        frame = churn_features(pd.DataFrame([orjson.loads(body)]))
        for _ in range(50):
            model.score(frame)
        times = []
        for _ in range(300):
            t0 = time.perf_counter()
            model.score(frame)
            times.append(time.perf_counter() - t0)
    return float(np.percentile(times, 99) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="Load per gc.freeze setting.")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        folder = Path(tmp) / "yard"
        _build_yard(folder)
        from modelyard.demo._data import load_raw_churn

        raw = load_raw_churn().iloc[-1:].drop(columns=["churned", "signup_date"])
        body = orjson.dumps(raw.to_dict("records")[0])
        model_p99 = _in_process_predict_ms(folder, body)

        rows = []
        for freeze in (True, False):
            port = _free_port()
            with _server(folder, port, gc_freeze=freeze):
                asyncio.run(_load(port, body, concurrency=4, seconds=2, max_requests=500))  # warm up
                c1 = asyncio.run(_load(port, body, concurrency=1, seconds=3, max_requests=3000))
                run = asyncio.run(
                    _load(port, body, concurrency=args.concurrency, seconds=args.seconds, max_requests=10**7)
                )
            n = len(run.latencies)
            early = _window(run, 0)
            late = _window(run, n - 1000)
            c1_lat = np.array(c1.latencies) * 1000
            failed = sum(s != 200 for s in run.statuses)
            rows.append((freeze, n, early, late, failed, np.percentile(c1_lat, 50), np.percentile(c1_lat, 99)))

        port = _free_port()
        with _server(folder, port, gc_freeze=True, poll_seconds=1.0):
            from modelyard import open_yard

            before: list[int] = []

            async def swap() -> Run:
                task = asyncio.create_task(
                    _load(port, body, concurrency=args.concurrency, seconds=8, max_requests=10**7, parse_version=True)
                )
                await asyncio.sleep(2)
                with open_yard(folder) as yard:
                    before.append(yard.model("churn", "production").version)
                    await asyncio.to_thread(yard.registry.rollback, "churn", reason="bench: hot swap under load")
                swapped_at = time.perf_counter()
                result = await task
                result.done_at.append(swapped_at)  # remembered for the report below
                return result

            swap_run = asyncio.run(swap())
        swapped_at = swap_run.done_at.pop()
        swap_failed = sum(s != 200 for s in swap_run.statuses)
        first_new = next(
            (
                t
                for t, v in zip(swap_run.done_at, swap_run.versions, strict=True)
                if v not in (-1, before[0]) and t > swapped_at
            ),
            None,
        )

    print()
    print(
        f"modelyard serve benchmark: 1 worker, {os.cpu_count()} cores, /predict/churn single-row JSON, "
        f"concurrency {args.concurrency}, HistGradientBoosting (demo challenger)"
    )
    print(f"in-process model.score p99 on one row: {model_p99:.2f} ms")
    header = (
        f"{'gc.freeze':<10}{'requests N':>11}{'req/s @1k':>11}{'p50 @1k':>9}{'p99 @1k':>9}"
        f"{'req/s @N':>10}{'p50 @N':>9}{'p99 @N':>9}{'failed':>8}{'c=1 p50':>9}{'c=1 p99':>9}"
    )
    print(header)
    print("-" * len(header))
    for freeze, n, early, late, failed, p50_1, p99_1 in rows:
        print(
            f"{'on' if freeze else 'off':<10}{n:>11,}{early[0]:>11,.0f}{early[1]:>8.2f}m{early[2]:>8.2f}m"
            f"{late[0]:>10,.0f}{late[1]:>8.2f}m{late[2]:>8.2f}m{failed:>8}{p50_1:>8.2f}m{p99_1:>8.2f}m"
        )
    print("(latencies in ms; @1k = requests 1-1,000, @N = the last 1,000 of N)")
    took = f"{first_new - swapped_at:.2f} s" if first_new is not None else "never"
    print(
        f"hot swap under load (rollback v2 -> v1 at t=2 s of 8 s): {len(swap_run.statuses):,} requests, "
        f"{swap_failed} failed, new version answering after {took}"
    )


if __name__ == "__main__":
    main()
