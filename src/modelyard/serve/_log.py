"""The prediction log: every prediction, written to Parquet in batches by a background thread.

The hot path only appends a tuple to a deque; turning it into rows, JSON and Parquet happens in the
writer thread, every ``flush_seconds`` or once ``flush_rows`` rows wait. :meth:`PredictionLog.close`
writes whatever is left (the server calls it after draining requests on shutdown, SIGTERM included).

Files: ``<folder>/<use_case>/part-<UTC time>-<random>.parquet``, one row per scored row.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["LOG_SCHEMA", "LogEntry", "PredictionLog", "read_prediction_log"]

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


@dataclass(frozen=True)
class LogEntry:
    """One scored request, as the hot path hands it over (one or more rows)."""

    request_id: str
    use_case: str
    version: int
    role: str
    at: float  # time.time()
    columns: dict[str, list[Any]]
    scores: np.ndarray
    decisions: np.ndarray
    latency_ms: float


class PredictionLog:
    """Buffered, thread-safe writer of the Parquet prediction log."""

    def __init__(self, folder: Path, *, flush_rows: int = 10_000, flush_seconds: float = 2.0) -> None:
        self.folder = Path(folder)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._pending: collections.deque[LogEntry] = collections.deque()
        self._pending_rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one writer at a time (thread flush vs close)
        self._thread: threading.Thread | None = None
        self.rows_written = 0
        self.files_written = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="modelyard-prediction-log", daemon=True)
            self._thread.start()

    def append(self, entry: LogEntry) -> None:
        """Hand one scored request over (cheap; called on the event loop)."""
        self._pending.append(entry)
        self._pending_rows += len(entry.scores)
        if self._pending_rows >= self.flush_rows:
            self._wake.set()

    def close(self) -> None:
        """Stop the writer and write every row still waiting."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a full disk must not kill the server; rows stay queued
                _logger.exception("could not write the prediction log to %s", self.folder)
                time.sleep(self.flush_seconds)

    def flush(self) -> int:
        """Write the waiting rows now; returns how many were written."""
        with self._lock:
            entries: list[LogEntry] = []
            while self._pending:
                entries.append(self._pending.popleft())
            if not entries:
                return 0
            self._pending_rows -= sum(len(e.scores) for e in entries)
            by_use_case: dict[str, list[LogEntry]] = {}
            for entry in entries:
                by_use_case.setdefault(entry.use_case, []).append(entry)
            written = 0
            try:
                for use_case, mine in by_use_case.items():
                    written += self._write(use_case, mine)
            except Exception:
                self._pending.extendleft(reversed(entries))
                self._pending_rows += sum(len(e.scores) for e in entries)
                raise
            self.rows_written += written
            return written

    def _write(self, use_case: str, entries: list[LogEntry]) -> int:
        cols: dict[str, list[Any]] = {name: [] for name in LOG_SCHEMA.names}
        for e in entries:
            n = len(e.scores)
            names = list(e.columns)
            at = datetime.fromtimestamp(e.at, UTC)
            for i in range(n):
                cols["request_id"].append(e.request_id)
                cols["row"].append(i)
                cols["inputs"].append(
                    orjson.dumps(
                        {k: e.columns[k][i] for k in names},
                        default=str,
                        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
                    ).decode()
                )
            cols["use_case"].extend([e.use_case] * n)
            cols["version"].extend([e.version] * n)
            cols["role"].extend([e.role] * n)
            cols["at"].extend([at] * n)
            cols["score"].extend(e.scores.tolist())
            cols["decision"].extend(e.decisions.tolist())
            cols["latency_ms"].extend([e.latency_ms] * n)
        table = pa.Table.from_pydict(cols, schema=LOG_SCHEMA)
        folder = self.folder / use_case
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        tmp = folder / f".part-{stamp}-{uuid.uuid4().hex[:8]}.parquet.tmp"
        pq.write_table(table, tmp)
        tmp.rename(folder / tmp.name[1:].removesuffix(".tmp"))  # readers never see half a file
        self.files_written += 1
        return table.num_rows


def read_prediction_log(folder: str | Path, use_case: str | None = None) -> pd.DataFrame:
    """Every logged prediction under ``folder`` (of one use case when given), oldest first."""
    root = Path(folder) / use_case if use_case else Path(folder)
    files = sorted(root.rglob("part-*.parquet"))
    if not files:
        return LOG_SCHEMA.empty_table().to_pandas()
    frame = pa.concat_tables([pq.read_table(f, schema=LOG_SCHEMA) for f in files]).to_pandas()
    return frame.sort_values("at", kind="stable").reset_index(drop=True)
