"""The prediction log across a SIGTERM, and hot swap under load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelyard.serve import read_prediction_log
from modelyard.serve._ready import wait_until_ready

from .conftest import LiveServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answer_until_sigterm(yard: Any, folder: Path, tmp_path: Path, raw_rows: list[dict[str, Any]]) -> list[str]:
    """Serve ``yard`` in a child process, send it requests from 4 clients, SIGTERM it under load; the
    request ids it answered."""
    port = _free_port()
    root = str(yard.settings.root)
    db = yard.store.engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(
        f"""
        from modelyard import Settings, Yard
        from modelyard.serve import ServeSettings, serve
        yard = Yard(Settings(root={root!r}, database_url={db!r}))
        settings = ServeSettings(log_folder={str(folder)!r}, log_flush_seconds=60)
        serve(yard, "127.0.0.1", {port}, 1, settings=settings, log_level="warning")
        """
    )
    output = tmp_path / "server.out"
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_ready(url, proc, timeout=60), output.read_text()
        answered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(offset: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                i = offset
                while not stop.is_set():
                    try:
                        r = c.post("/predict/churn", json=raw_rows[i % len(raw_rows)])
                    except httpx.TransportError:
                        return  # the server stopped accepting
                    if r.status_code == 200:
                        with lock:
                            answered.append(r.json()["request_id"])
                    i += 4

        with ThreadPoolExecutor(4) as pool:
            for k in range(4):
                pool.submit(client, k)
            try:
                time.sleep(1.5)
                proc.send_signal(signal.SIGTERM)
                # uvicorn drains, runs the shutdown (log flush), then re-raises the signal: -15 is a clean stop
                assert proc.wait(30) in (0, -signal.SIGTERM), output.read_text()
            finally:
                stop.set()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return answered


def test_nothing_is_lost_on_sigterm(serve_yard: Any, tmp_path: Path, raw_rows: list[dict[str, Any]]) -> None:
    """Requests answered before and during a SIGTERM all reach the log (production and shadow rows)."""
    folder = tmp_path / "log"
    answered = _answer_until_sigterm(serve_yard, folder, tmp_path, raw_rows)
    log = read_prediction_log(folder, "churn")
    assert len(answered) > 20
    production = log[log["role"] == "production"]
    assert sorted(production["request_id"]) == sorted(answered)
    assert sorted(log[log["role"] == "shadow"]["request_id"]) == sorted(answered)
    assert set(production.columns) >= {
        "request_id",
        "use_case",
        "version",
        "role",
        "at",
        "inputs",
        "score",
        "latency_ms",
    }


@pytest.fixture
def pg_serve_yard(yard_root: Path, pg_url: str, make_model: Any) -> Iterator[Any]:
    """churn v1 (production) and v2 (shadow), on PostgreSQL: team mode."""
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=pg_url, author="tester")) as y:
        v1 = y.register("churn", make_model(1.0))
        y.promote("churn", v1.version, reason="first")
        v2 = y.register("churn", make_model(0.3))
        y.transition("churn", v2.version, "shadow", reason="listen")
        yield y


@pytest.mark.postgres
def test_nothing_is_lost_on_sigterm_with_the_log_in_postgresql(
    pg_serve_yard: Any, tmp_path: Path, raw_rows: list[dict[str, Any]]
) -> None:
    """Team mode: the same count across a SIGTERM, with the log in the predictions table."""
    folder = tmp_path / "log"
    answered = _answer_until_sigterm(pg_serve_yard, folder, tmp_path, raw_rows)
    log = read_prediction_log(pg_serve_yard.store, "churn")
    assert len(answered) > 20
    assert sorted(log[log["role"] == "production"]["request_id"]) == sorted(answered)
    assert sorted(log[log["role"] == "shadow"]["request_id"]) == sorted(answered)
    assert not folder.exists()  # nothing had to be spilled to Parquet


def test_promotion_under_load_swaps_within_5s_without_failures(
    live: LiveServer, serve_yard: Any, raw_rows: list[dict[str, Any]]
) -> None:
    results: list[tuple[float, int, int]] = []  # (time, status, version)
    stop = threading.Event()
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(base_url=live.url, timeout=30) as c:
            i = offset
            while not stop.is_set():
                r = c.post("/predict/churn", json=raw_rows[i % len(raw_rows)])
                version = r.json().get("version", -1) if r.status_code == 200 else -1
                with lock:
                    results.append((time.monotonic(), r.status_code, version))
                i += 4

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client, k) for k in range(4)]
        try:
            time.sleep(0.7)
            promoted_at = time.monotonic()
            serve_yard.registry.promote("churn", 2, reason="v2 wins")  # skips the evaluation policy
            deadline = promoted_at + 5
            while time.monotonic() < deadline:
                with lock:
                    if results and results[-1][2] == 2:
                        break
                time.sleep(0.05)
            time.sleep(0.5)
        finally:
            stop.set()
        for f in futures:
            f.result()
    failed = [r for r in results if r[1] != 200]
    assert failed == []
    first_v2 = min(t for t, _, v in results if v == 2)
    assert first_v2 - promoted_at < 5
    assert all(v == 2 for t, _, v in results if t > first_v2 + 0.5)
    assert live.service.deployments.get("churn").describe()["production"] == 2


def test_gc_freeze_and_pause_watch(serve_yard: Any, settings: Any) -> None:
    import gc

    from modelyard.serve import create_app

    app = create_app(serve_yard, settings=settings.model_copy(update={"gc_freeze": True}))
    try:
        with LiveServer(app) as live, httpx.Client(base_url=live.url) as c:
            assert gc.get_freeze_count() > 0
            gc.collect()
            text = c.get("/metrics").text
            assert "modelyard_gc_pause_seconds_count" in text
            assert live.service.gc_watch.pauses >= 1
            status = c.get("/models").json()
            assert status["gc"]["frozen"] > 0
        assert live.service.gc_watch not in gc.callbacks
    finally:
        gc.unfreeze()
    assert os.getpid()
