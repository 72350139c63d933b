"""The prediction log in the registry database (team mode): same rows as Parquet, no loss across an outage."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import Settings, Yard
from modelyard.serve import PredictionLog, ServeSettings, read_prediction_log
from modelyard.serve._log import LogEntry, LogSinkDown, ParquetSink, encode_inputs, open_prediction_log
from modelyard.serve._log_database import DatabaseSink
from modelyard.store import Store


def _entry(i: int, *, rows: int = 1, customer: str | None = None) -> LogEntry:
    return LogEntry(
        request_id=f"r{i:05d}",
        use_case="churn",
        version=1,
        role="production" if i % 3 else "shadow",
        at=1_767_000_000.0 + i,
        inputs=encode_inputs({"customer_id": [customer or f"C{i}"] * rows, "tenure": list(range(rows))}, rows),
        scores=np.linspace(0, 1, rows),
        decisions=np.linspace(0, 1, rows) >= 0.5,
        latency_ms=1.25,
    )


def _wait(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Outage:
    """A TCP relay to PostgreSQL that can be cut (every connection closed, new ones refused) and restored."""

    def __init__(self, pg_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{self.port}/")
        assert self.url != pg_url
        self._sockets: set[socket.socket] = set()
        self._up = threading.Event()
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        """Accept connections again (listening before this returns)."""
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.05)
        self._up.set()
        self._listener = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._listener.start()

    def cut(self) -> None:
        """Refuse new connections and break the open ones, like a database host going away."""
        self._up.clear()
        if self._listener is not None:
            self._listener.join()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        with server:
            while self._up.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(("127.0.0.1", 5432))
                with self._lock:
                    self._sockets.update((client, upstream))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def outage(pg_url: str) -> Iterator[Outage]:
    Store(pg_url).close()  # the tables
    relay = Outage(pg_url)
    relay.start()
    yield relay
    relay.cut()


def test_the_database_log_reads_back_exactly_like_the_parquet_log(store_url: str, tmp_path: Path) -> None:
    entries = [_entry(i, rows=1 + i % 3) for i in range(40)]
    Store(store_url).close()
    for sink in (ParquetSink(tmp_path / "parquet"), DatabaseSink(store_url)):
        log = PredictionLog(sink)
        for e in entries:
            log.append(e)
        log.close()
        assert log.rows_written == 79
    parquet = read_prediction_log(tmp_path / "parquet", "churn")
    database = read_prediction_log(store_url, "churn")
    assert list(database.columns) == list(parquet.columns) and (database.dtypes == parquet.dtypes).all()
    assert len(database) == 79
    pd.testing.assert_frame_equal(database.drop(columns="inputs"), parquet.drop(columns="inputs"))
    assert [json.loads(s) for s in database["inputs"]] == [json.loads(s) for s in parquet["inputs"]]
    assert read_prediction_log(store_url, "nobody").empty


def test_an_outage_keeps_rows_queued_and_retries_until_every_row_is_in(outage: Outage, tmp_path: Path) -> None:
    log = PredictionLog(DatabaseSink(outage.url), fallback=ParquetSink(tmp_path / "spill"), flush_seconds=0.05)
    log.start()
    for i in range(50):
        log.append(_entry(i))
    _wait(lambda: log.rows_written == 50, "the first rows")
    outage.cut()
    for i in range(50, 150):
        log.append(_entry(i))
    _wait(lambda: log.failures >= 3, "failed writes")
    assert log.rows_written == 50 and log.rows_waiting == 100
    outage.start()
    _wait(lambda: log.rows_written == 150, "the rows after the outage")
    log.close()
    assert (log.rows_spilled, log.rows_dropped) == (0, 0)
    frame = read_prediction_log(outage.url)
    assert list(frame["request_id"]) == [f"r{i:05d}" for i in range(150)]
    assert not (tmp_path / "spill").exists()


def test_past_the_queue_bound_the_oldest_rows_spill_to_parquet(outage: Outage, tmp_path: Path) -> None:
    log = PredictionLog(DatabaseSink(outage.url), fallback=ParquetSink(tmp_path / "spill"), max_pending_rows=30)
    outage.cut()
    for i in range(100):
        log.append(_entry(i))
    with pytest.raises(LogSinkDown):
        log.flush()
    assert (log.rows_spilled, log.rows_waiting, log.rows_written) == (70, 30, 0)
    outage.start()
    assert log.flush() == 30
    log.close()
    spilled = list(read_prediction_log(tmp_path / "spill", "churn")["request_id"])
    logged = list(read_prediction_log(outage.url, "churn")["request_id"])
    assert spilled == [f"r{i:05d}" for i in range(70)] and logged == [f"r{i:05d}" for i in range(70, 100)]


def test_rows_the_database_refuses_go_to_parquet_and_the_log_moves_on(pg_url: str, tmp_path: Path) -> None:
    Store(pg_url).close()
    log = PredictionLog(DatabaseSink(pg_url), fallback=ParquetSink(tmp_path / "spill"))
    log.append(_entry(0, customer="C\x00NUL"))  # JSONB cannot hold \u0000
    assert log.flush() == 0 and log.rows_spilled == 1
    log.append(_entry(1))
    assert log.flush() == 1
    log.close()
    assert list(read_prediction_log(tmp_path / "spill")["request_id"]) == ["r00000"]
    assert list(read_prediction_log(pg_url)["request_id"]) == ["r00001"]


def test_shutting_down_during_an_outage_spills_what_waits(outage: Outage, tmp_path: Path) -> None:
    log = PredictionLog(DatabaseSink(outage.url), fallback=ParquetSink(tmp_path / "spill"), flush_seconds=60)
    log.start()
    outage.cut()
    for i in range(10):
        log.append(_entry(i))
    log.close()
    assert (log.rows_spilled, log.rows_dropped) == (10, 0)
    assert len(read_prediction_log(tmp_path / "spill")) == 10


def test_a_parquet_log_past_its_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log folder should be")
    log = PredictionLog(blocked, max_pending_rows=4)
    for i in range(10):
        log.append(_entry(i))
    with pytest.raises(OSError):
        log.flush()
    assert (log.rows_dropped, log.rows_waiting) == (6, 4)
    assert log.describe()["rows_dropped"] == 6


@pytest.mark.parametrize(
    ("target", "backend", "expected"),
    [
        ("auto", "sqlite", "parquet"),
        ("auto", "postgres", "database"),
        ("parquet", "postgres", "parquet"),
        ("database", "sqlite", "database"),
    ],
)
def test_the_log_target_follows_the_setting_and_the_database(
    request: pytest.FixtureRequest, yard_root: Path, tmp_path: Path, target: str, backend: str, expected: str
) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgres" else request.getfixturevalue("sqlite_url")
    with Yard(Settings(root=yard_root, database_url=url)) as yard:
        log = open_prediction_log(yard, ServeSettings(log_target=target), tmp_path / "predictions")
        log.close()
    assert log.sink.target == expected
    assert (log.fallback is not None) == (expected == "database")
    assert "secret" not in log.describe()["where"]


def test_the_log_counters_are_prometheus_metrics(tmp_path: Path) -> None:
    from modelyard.serve._metrics import ServerMetrics

    metrics = ServerMetrics()
    log = PredictionLog(tmp_path / "log")
    log.bind_metrics(metrics)
    for i in range(3):
        log.append(_entry(i, rows=2))
    before = metrics.render().decode()
    log.close()
    after = metrics.render().decode()
    assert 'modelyard_prediction_log_waiting_rows{target="parquet"} 6.0' in before
    assert 'modelyard_prediction_log_rows_total{outcome="written",target="parquet"} 6.0' in after
    assert 'modelyard_prediction_log_rows_total{outcome="dropped",target="parquet"} 0.0' in after


def test_a_long_outage_spills_every_waiting_row_instead_of_holding_it_in_memory(outage: Outage, tmp_path: Path) -> None:
    log = PredictionLog(
        DatabaseSink(outage.url), fallback=ParquetSink(tmp_path / "spill"), flush_seconds=0.05, max_pending_seconds=0.5
    )
    log.start()
    outage.cut()
    for i in range(40):
        log.append(_entry(i))
    _wait(lambda: log.failures >= 2, "failed writes")
    assert log.rows_spilled == 0 and log.rows_waiting == 40  # a short outage: the rows wait for the database
    _wait(lambda: log.rows_spilled == 40, "the spill once the outage outlasted max_pending_seconds")
    log.append(_entry(40))
    _wait(lambda: log.rows_spilled == 41, "rows that arrive during the long outage")  # a kill -9 now loses nothing
    outage.start()
    log.append(_entry(41))
    _wait(lambda: log.rows_written == 1, "the database again")
    log.close()
    assert (log.rows_dropped, log.rows_waiting) == (0, 0)
    assert list(read_prediction_log(outage.url)["request_id"]) == ["r00041"]


def test_a_yard_reads_its_servers_log_wherever_it_went(outage: Outage, yard_root: Path, tmp_path: Path) -> None:
    with Yard(Settings(root=yard_root, database_url=outage.url, author="t")) as yard:
        folder = yard.settings.resolved_home() / "predictions"
        log = PredictionLog(DatabaseSink(outage.url), fallback=ParquetSink(folder))
        log.append(_entry(0))
        assert log.flush() == 1
        outage.cut()
        log.append(_entry(1))
        log.close()  # spilled to Parquet during the outage
        outage.start()
        assert log.rows_spilled == 1
        both = read_prediction_log(yard, "churn")
    assert list(both["request_id"]) == ["r00000", "r00001"]
