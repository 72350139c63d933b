"""Several server processes on one port: connections spread over them, SIGTERM drains every one."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelyard import UsageError
from modelyard.serve import read_prediction_log
from modelyard.serve._ready import wait_until_ready
from modelyard.serve._workers import free_port_or_fail


def test_a_port_another_program_holds_is_refused_by_name() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(UsageError, match=rf"Port {port} on 127.0.0.1 is in use by another program"):
            free_port_or_fail("127.0.0.1", port)
    assert free_port_or_fail("127.0.0.1", 0) > 0


@pytest.mark.slow
def test_two_workers_share_keep_alive_clients_and_log_every_answer(
    serve_yard: Any, tmp_path: Path, raw_rows: list[dict[str, Any]]
) -> None:
    port = free_port_or_fail("127.0.0.1", 0)
    folder = tmp_path / "log"
    root = str(serve_yard.settings.root)
    db = serve_yard.store.engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(
        f"""
        from modelyard import Settings, Yard
        from modelyard.serve import ServeSettings, serve
        yard = Yard(Settings(root={root!r}, database_url={db!r}))
        settings = ServeSettings(log_folder={str(folder)!r}, log_flush_seconds=60)
        serve(yard, "127.0.0.1", {port}, 2, settings=settings, log_level="warning")
        """
    )
    output = tmp_path / "server.out"
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
    try:
        # both workers must be up; a worker listens only once it has started, so new connections
        # find the second one only then: ask on fresh connections until both have answered
        assert wait_until_ready(url, proc, in_a_row=16, interval=0.05), output.read_text()
        deadline = time.monotonic() + 60
        while len({httpx.get(f"{url}/models", timeout=30).json()["pid"] for _ in range(16)}) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, output.read_text()
            time.sleep(0.1)
        # each client keeps its connection; the kernel spreads 16 connections over both sockets
        # (all 16 on one: probability 2 ** -15)
        pids = {c.get("/models").json()["pid"] for c in clients}
        assert len(pids) == 2
        answered = []
        for i in range(96):
            r = clients[i % 16].post("/predict/churn", json=raw_rows[i])
            assert r.status_code == 200, r.text
            answered.append(r.json()["request_id"])
        # /metrics on either worker counts both workers' requests (else Prometheus sees resets)
        series = (
            'modelyard_requests_total{outcome="ok",protocol="plain",role="production",use_case="churn",version="1"}'
        )
        by_worker = {c.get("/models").json()["pid"]: c.get("/metrics").text for c in clients}
        assert len(by_worker) == 2
        for text in by_worker.values():
            assert f"{series} 96.0" in text.splitlines(), [line for line in text.splitlines() if series in line]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, output.read_text()
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = read_prediction_log(folder, "churn")
    assert sorted(log[log["role"] == "production"]["request_id"]) == sorted(answered)
    assert sorted(log[log["role"] == "shadow"]["request_id"]) == sorted(answered)


def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly() -> None:
    from modelyard.serve._workers import MAX_RESTART_DELAY, restart_delay

    assert [restart_delay(n, 1.0) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_RESTART_DELAY, 30.0]


def test_a_worker_that_cannot_open_its_yard_says_so_in_one_line(
    yard_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelyard.serve._workers import _worker

    port = free_port_or_fail("127.0.0.1", 0)
    monkeypatch.setenv("MODELYARD_ROOT", str(yard_root))
    monkeypatch.setenv("MODELYARD_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/gone")  # nothing listens
    with pytest.raises(SystemExit) as stopped:
        _worker("127.0.0.1", port, {})
    err = capsys.readouterr().err
    assert stopped.value.code == 3 and "Traceback" not in err
    assert err.startswith("modelyard serve: a worker cannot start: Cannot open the registry database") and (
        err.count("\n") == 1
    )
