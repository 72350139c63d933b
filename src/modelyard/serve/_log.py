"""The prediction log: every prediction, written in batches by a background thread.

The hot path encodes a request's rows as JSON Lines (:func:`encode_inputs`, a few microseconds a
row) and appends one :class:`LogEntry` to a deque; building the table and writing it happen in the
writer thread, every ``flush_seconds`` or once ``flush_rows`` rows wait. :meth:`PredictionLog.close`
writes whatever is left (the server calls it after draining requests on shutdown, SIGTERM included).

Rows go to a :class:`LogSink`: Parquet files (:class:`ParquetSink`, the default), or the registry
database's ``predictions`` table in team mode (:class:`~modelyard.serve._log_database.DatabaseSink`).
While the sink is down the rows stay queued and the writer retries, so a short outage (a database
failover) leaves every row in one place. The queue is bounded in rows and in time: past
``max_pending_rows`` the oldest rows, and once the sink has been down for ``max_pending_seconds``
every waiting row at each retry, go to the ``fallback`` sink (Parquet files next to a database log),
or are dropped and counted when there is none. The time bound is what keeps a crash during a long
outage from costing more than those seconds of rows: memory is not a record. Spilling beats dropping
because the log is the record of what the models decided: disk is cheaper than memory, and an outage
should not cost rows. A batch the database refuses for its content (say a NUL character, which JSONB
cannot hold) goes to the fallback at once, so one odd request cannot stall the log.
:func:`read_prediction_log` given a yard reads the database and the spilled files together.

Files: ``<folder>/<use_case>/part-<UTC time>-<random>.parquet``, one row per scored row.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from modelyard._yard import Yard
    from modelyard.serve._metrics import ServerMetrics
    from modelyard.serve._settings import ServeSettings
    from modelyard.store import Store

__all__ = [
    "LOG_SCHEMA",
    "LogEntry",
    "LogSink",
    "LogSinkDown",
    "ParquetSink",
    "PredictionLog",
    "encode_inputs",
    "log_columns",
    "log_folder_of",
    "log_table",
    "open_prediction_log",
    "read_prediction_log",
]

_logger = logging.getLogger("modelyard.serve")

LOG_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("row", pa.int32()),
        ("use_case", pa.string()),
        ("version", pa.int32()),
        ("role", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("inputs", pa.string()),
        ("score", pa.float64()),
        ("decision", pa.bool_()),
        ("latency_ms", pa.float64()),
    ]
)


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def encode_inputs(columns: dict[str, Any], n: int) -> bytes:
    """A request's ``n`` rows of raw fields, given as ``{field: [value per row]}``, as JSON Lines:
    one JSON object per row (orjson escapes newlines inside strings, so a line is a row).

    The log holds a request as bytes until the writer takes it: bytes are invisible to the garbage
    collector, while a dict and a list per field, kept for the seconds between two writes, are
    promoted to the oldest generation and make every full collection scan them (at 3,000
    requests/s that was ~150,000 objects and a 16 ms pause every second or so; see
    ``bench/serve.py soak``). Encoding here, a few microseconds a row, also spares the writer a
    Python loop over every row that held the GIL against the server for tens of milliseconds.
    """
    return b"\n".join(_encode_row({k: values[i] for k, values in columns.items()}) for i in range(n))


def _encode_row(row: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(row, default=str, option=_JSON_OPTIONS)
    except TypeError:  # integers past 64 bits: the standard library takes any size
        finite = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        return json.dumps(finite, default=_plain, separators=(",", ":"), allow_nan=False).encode()


def _plain(value: Any) -> Any:
    """What :func:`json.dumps` writes for a value it does not know: numpy numbers and arrays as
    numbers and lists, anything else as its text."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else str(value)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One scored request, as the hot path hands it over (one or more rows).

    Every field is a string, a number, bytes or a numpy array, none of which the garbage collector
    tracks: the entry is one tracked object however many fields and rows it holds.
    """

    request_id: str
    use_case: str
    version: int
    role: str
    at: float  # time.time()
    inputs: bytes  # :func:`encode_inputs` of the request's rows: one JSON object per line
    scores: np.ndarray
    decisions: np.ndarray
    latency_ms: float  # production and canary: the request's time in the service; a shadow: its batch's scoring


def log_table(entries: list[LogEntry]) -> pa.Table:
    """The rows of ``entries`` as a table in :data:`LOG_SCHEMA` (``inputs`` as JSON text, one
    object per row).

    Every column is built from numpy arrays or from the entries' own strings. The writer thread
    runs this while the server answers requests, and pyarrow holds the GIL while it converts
    Python objects: from lists of datetimes and floats, 6,000 one-row requests took 27 ms in one
    uninterrupted stretch, which showed as the server's p99.9 at 3,000 requests/s.
    """
    if not entries:
        return LOG_SCHEMA.empty_table()
    counts = np.fromiter((len(e.scores) for e in entries), dtype=np.int64, count=len(entries))
    each = np.repeat(np.arange(len(entries)), counts)
    starts = np.cumsum(counts) - counts
    inputs = [line for e in entries for line in e.inputs.decode().split("\n")]

    def per_request(values: list[Any], type_: pa.DataType) -> pa.Array:
        return pa.array(values, type=type_).take(pa.array(each))

    def per_row(values: Any, dtype: Any) -> np.ndarray:
        return np.repeat(np.fromiter(values, dtype=dtype, count=len(entries)), counts)

    arrays = {
        "request_id": per_request([e.request_id for e in entries], pa.string()),
        "row": pa.array((np.arange(len(each)) - starts[each]).astype(np.int32)),
        "use_case": per_request([e.use_case for e in entries], pa.string()),
        "version": pa.array(per_row((e.version for e in entries), np.int32)),
        "role": per_request([e.role for e in entries], pa.string()),
        "at": pa.array(per_row((_microseconds(e.at) for e in entries), np.int64), type=pa.timestamp("us", tz="UTC")),
        "inputs": pa.array(inputs, type=pa.string()),
        "score": pa.array(np.concatenate([e.scores for e in entries]).astype(np.float64, copy=False)),
        "decision": pa.array(np.concatenate([e.decisions for e in entries]).astype(bool, copy=False)),
        "latency_ms": pa.array(per_row((e.latency_ms for e in entries), np.float64)),
    }
    return pa.Table.from_pydict(arrays, schema=LOG_SCHEMA)


def _microseconds(seconds: float) -> int:
    """``seconds`` since the epoch in whole microseconds, rounded as :meth:`datetime.fromtimestamp`
    rounds (``round(seconds * 1e6)`` rounds the product first and is off by one about once in 8)."""
    whole = math.floor(seconds)
    return whole * 1_000_000 + round((seconds - whole) * 1e6)


def log_columns(entries: list[LogEntry]) -> dict[str, list[Any]]:
    """:func:`log_table` as Python lists, column by column (``at`` as aware datetimes)."""
    return log_table(entries).to_pydict()


def _rows(entries: list[LogEntry]) -> int:
    return sum(len(e.scores) for e in entries)


class LogSinkDown(Exception):
    """The sink cannot be reached now (a database outage): keep the rows and try again later."""


class LogSink(Protocol):
    """Where the writer thread puts batches of the log."""

    target: str  # "parquet" or "database"
    where: str  # a folder, or a database URL without its password

    def write(self, entries: list[LogEntry]) -> int:
        """Write every row of ``entries`` or none; returns the row count. Raises :class:`LogSinkDown`
        when the target is unreachable, anything else when it refuses these rows."""
        ...

    def close(self) -> None: ...


class ParquetSink:
    """Parquet files under ``folder``, one per use case and batch."""

    target = "parquet"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.where = str(self.folder)
        self.files_written = 0

    def write(self, entries: list[LogEntry]) -> int:
        by_use_case: dict[str, list[LogEntry]] = {}
        for entry in entries:
            by_use_case.setdefault(entry.use_case, []).append(entry)
        return sum(self._write(use_case, mine) for use_case, mine in by_use_case.items())

    def _write(self, use_case: str, entries: list[LogEntry]) -> int:
        table = log_table(entries)
        folder = self.folder / use_case
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        tmp = folder / f".part-{stamp}-{uuid.uuid4().hex[:8]}.parquet.tmp"
        pq.write_table(table, tmp)
        tmp.rename(folder / tmp.name[1:].removesuffix(".tmp"))  # readers never see half a file
        self.files_written += 1
        return table.num_rows

    def close(self) -> None:
        pass


class PredictionLog:
    """Buffered, thread-safe writer of the prediction log (Parquet files in ``target`` when it is a folder)."""

    def __init__(
        self,
        target: Path | str | LogSink,
        *,
        flush_rows: int = 10_000,
        flush_seconds: float = 2.0,
        max_pending_rows: int = 1_000_000,
        max_pending_seconds: float = 10.0,
        fallback: LogSink | None = None,
    ) -> None:
        self.sink: LogSink = ParquetSink(Path(target)) if isinstance(target, (str, Path)) else target
        self.fallback = fallback
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_pending_rows = max_pending_rows
        self.max_pending_seconds = max_pending_seconds
        self._pending: collections.deque[LogEntry] = collections.deque()
        # one thread adds to each counter (append: the event loop; the rest: the writer), so no lock
        self._rows_appended = 0
        self._rows_settled = 0  # written + spilled + dropped
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one writer at a time (thread flush vs close)
        self._thread: threading.Thread | None = None
        self.rows_written = 0
        self.rows_spilled = 0  # written to the fallback instead
        self.rows_dropped = 0  # lost: over the bound with no fallback, or the fallback failed too
        self.failures = 0  # batches the sink did not take
        self._down_since: float | None = None  # time.monotonic() of the first failed write of this outage
        self._metrics: ServerMetrics | None = None

    @property
    def rows_waiting(self) -> int:
        """Rows handed over and not yet written, spilled or dropped."""
        return self._rows_appended - self._rows_settled

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="modelyard-prediction-log", daemon=True)
            self._thread.start()

    def append(self, entry: LogEntry) -> None:
        """Hand one scored request over (cheap; called on the event loop)."""
        self._pending.append(entry)
        self._rows_appended += len(entry.scores)
        if self._rows_appended - self._rows_settled >= self.flush_rows:
            self._wake.set()

    def close(self) -> None:
        """Stop the writer and write every row still waiting (to the fallback when the sink is down)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.flush()
        except Exception:
            _logger.exception("could not write the prediction log to %s on shutdown", self.sink.where)
            with self._lock:
                self._spill(self._take(), "the server is stopping and the log target is down")
        finally:
            self.sink.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
                self._update_waiting()
            except Exception as exc:  # an outage or a full disk must not kill the server; rows stay queued
                self._update_waiting()
                _logger.warning("could not write the prediction log to %s, retrying: %s", self.sink.where, exc)
                self._stop.wait(self.flush_seconds)

    def flush(self) -> int:
        """Write the waiting rows now; returns how many the sink took. Raises when it took none."""
        with self._lock:
            entries = self._take()
            if not entries:
                return 0
            try:
                self.sink.write(entries)
            except Exception as exc:
                self.failures += 1
                if self.fallback is not None and not isinstance(exc, LogSinkDown):
                    self._spill(entries, f"{self.sink.where} refused them ({type(exc).__name__}: {exc})")
                    return 0
                if self._down_since is None:
                    self._down_since = time.monotonic()
                self._pending.extendleft(reversed(entries))
                self._shed()
                raise
            self._down_since = None
            written = _rows(entries)  # every row or none
            self.rows_written += written
            self._rows_settled += written
            self._count("written", written)
            return written

    def _take(self) -> list[LogEntry]:
        entries: list[LogEntry] = []
        while self._pending:
            entries.append(self._pending.popleft())
        return entries

    def _shed(self) -> None:
        """Keep at most ``max_pending_rows`` queued, and none once the sink has been down for
        ``max_pending_seconds``: the oldest rows beyond go to the fallback."""
        down_for = time.monotonic() - self._down_since if self._down_since is not None else 0.0
        if down_for >= self.max_pending_seconds:
            why = f"{self.sink.where} has been down for {down_for:.0f} s"
            excess = self.rows_waiting
        else:
            why = f"over {self.max_pending_rows:,} rows wait for {self.sink.where}"
            excess = self.rows_waiting - self.max_pending_rows  # all queued: nothing is being written now
        shed: list[LogEntry] = []
        while excess > 0 and self._pending:
            entry = self._pending.popleft()
            shed.append(entry)
            excess -= len(entry.scores)
        self._spill(shed, why)

    def _spill(self, entries: list[LogEntry], why: str) -> None:
        n = _rows(entries)
        if not n:
            return
        if self.fallback is not None:
            try:
                self.fallback.write(entries)
            except Exception:
                _logger.exception("could not spill %d prediction log rows to %s", n, self.fallback.where)
            else:
                self.rows_spilled += n
                self._rows_settled += n
                self._count("spilled", n)
                _logger.warning("wrote %d prediction log rows to %s: %s", n, self.fallback.where, why)
                return
        self.rows_dropped += n
        self._rows_settled += n
        self._count("dropped", n)
        _logger.warning("dropped %d prediction log rows: %s", n, why)

    def describe(self) -> dict[str, Any]:
        return {
            "target": self.sink.target,
            "where": self.sink.where,
            "fallback": self.fallback.where if self.fallback is not None else None,
            "rows_written": self.rows_written,
            "rows_spilled": self.rows_spilled,
            "rows_dropped": self.rows_dropped,
            "rows_waiting": self.rows_waiting,
        }

    def bind_metrics(self, metrics: ServerMetrics) -> None:
        """Count the log's rows on ``/metrics`` (by the writer thread; nothing on the hot path)."""
        self._metrics = metrics
        for outcome in ("written", "spilled", "dropped"):  # every series from the start, at 0
            metrics.log_rows.labels(self.sink.target, outcome)
        metrics.before_render.append(self._update_waiting)

    def _count(self, outcome: str, rows: int) -> None:
        if self._metrics is not None and rows:
            self._metrics.log_rows.labels(self.sink.target, outcome).inc(rows)

    def _update_waiting(self) -> None:
        if self._metrics is not None:
            self._metrics.log_waiting.labels(self.sink.target).set(self.rows_waiting)


def _log_target(yard: Yard, settings: ServeSettings) -> str:
    if settings.log_target == "auto":
        return "database" if yard.store.dialect == "postgresql" else "parquet"
    return settings.log_target


def open_prediction_log(yard: Yard, settings: ServeSettings, folder: Path) -> PredictionLog:
    """The server's log: Parquet files in ``folder``, or the yard's database (``settings.log_target``;
    ``auto`` picks the database when it is PostgreSQL), spilling to Parquet files in ``folder``."""
    target = _log_target(yard, settings)
    options: dict[str, Any] = {
        "flush_rows": settings.log_flush_rows,
        "flush_seconds": settings.log_flush_seconds,
        "max_pending_rows": settings.log_queue_rows,
        "max_pending_seconds": settings.log_queue_seconds,
    }
    if target == "parquet":
        return PredictionLog(folder, **options)
    from modelyard.serve._log_database import DatabaseSink

    sink = DatabaseSink(yard.settings.resolved_database_url())
    return PredictionLog(sink, fallback=ParquetSink(folder), **options)


def log_folder_of(yard: Yard, settings: ServeSettings) -> Path:
    """Where the server of ``yard`` writes its Parquet log (with a database log: the rows it spills)."""
    folder = settings.log_folder
    if folder is None:
        return yard.settings.resolved_home() / "predictions"
    return folder if folder.is_absolute() else yard.settings.root / folder


def read_prediction_log(source: str | Path | Store | Yard, use_case: str | None = None) -> pd.DataFrame:
    """Every logged prediction (of one use case when given), oldest first, in :data:`LOG_SCHEMA`.

    ``source`` is a :class:`~modelyard.Yard`: wherever its server logs (the Parquet folder, or in team
    mode the database table together with the rows spilled to Parquet during outages); or the folder
    of a Parquet log; or a database log alone: a :class:`~modelyard.store.Store` or a database URL.
    """
    from modelyard._yard import Yard

    if isinstance(source, Yard):
        from modelyard.serve._settings import ServeSettings

        settings = ServeSettings()
        folder = log_folder_of(source, settings)
        if _log_target(source, settings) == "parquet":
            return read_prediction_log(folder, use_case)
        frames = [read_prediction_log(source.store, use_case), read_prediction_log(folder, use_case)]
        both = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        return both.sort_values("at", kind="stable").reset_index(drop=True)
    if not isinstance(source, (str, Path)) or "://" in str(source):
        from modelyard.serve._log_database import read_database_log

        table = read_database_log(source, use_case)
    else:
        root = Path(source) / use_case if use_case else Path(source)
        files = sorted(root.rglob("part-*.parquet"))
        if not files:
            return LOG_SCHEMA.empty_table().to_pandas()
        table = pa.concat_tables([pq.read_table(f, schema=LOG_SCHEMA) for f in files])
    return table.to_pandas().sort_values("at", kind="stable").reset_index(drop=True)
