"""Parquet files written behind the caller: tables go to a background thread, in order, while the
caller reads and computes the next ones (pyarrow's writer releases the GIL, so the two run at once
when there are cores for them).

Used by snapshots (with a content hash on a second thread) and by batch scoring. Tables smaller than
:data:`ROW_GROUP_ROWS` are gathered into one row group, so a source that comes in many small pieces
still gives a file that reads fast.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelyard._exceptions import DataError

__all__ = ["IN_FLIGHT_BYTES", "ROW_GROUP_ROWS", "ParquetSink", "RowGroupWriter", "WriteBehind"]

ROW_GROUP_ROWS = 65_536
"""Rows gathered before a row group is written (a bigger table is a row group of its own)."""

MAX_ROW_GROUP_ROWS = 1 << 20
"""Bigger tables are split into row groups of this many rows (pyarrow's default)."""

IN_FLIGHT_BYTES = 64 << 20
"""Bytes of tables handed to a background thread and not yet done with (at least one table,
whatever its size): bounds the memory held. Measured on a 1M-row snapshot: in 12 partitions of
21 MB, 1 to 128 MB made no difference; in 200 partitions of 5,000 rows, one partition at a time
took 2.1 s and 64 MB 1.7 s, as the threads no longer wait for each other on every one."""


class WriteBehind:
    """Runs ``work`` on each table on one background thread, in the order added.

    ``add`` returns as soon as the table is queued, unless ``max_bytes`` of tables are already
    queued. The first error on the thread is raised by the next ``add`` or by ``finish``; the tables
    queued after it are skipped.
    """

    def __init__(self, work: Callable[[pa.Table], object], *, name: str, max_bytes: int = IN_FLIGHT_BYTES) -> None:
        self._work = work
        self._max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._queued: deque[tuple[int, Future[None]]] = deque()
        self._queued_bytes = 0
        self._failed = False

    def add(self, table: pa.Table) -> None:
        while self._queued and self._queued[0][1].done():  # so an error is raised at the next add
            self._wait_oldest()
        size = table.nbytes
        while self._queued and self._queued_bytes + size > self._max_bytes:
            self._wait_oldest()
        self._queued.append((size, self._pool.submit(self._run, table)))
        self._queued_bytes += size

    def _run(self, table: pa.Table) -> None:
        if self._failed:
            return
        try:
            self._work(table)
        except BaseException:
            self._failed = True
            raise

    def _wait_oldest(self) -> None:
        size, done = self._queued.popleft()
        self._queued_bytes -= size
        done.result()

    def finish(self) -> None:
        """Wait for every table queued, raising the first error; then stop the thread."""
        while self._queued:
            self._wait_oldest()
        self._pool.shutdown()

    def abort(self) -> None:
        """Stop after an error (or after ``finish``, doing nothing): drop the queued tables and let the
        thread finish the one it is on. Raises nothing, so as not to hide the error being raised."""
        self._queued.clear()
        self._queued_bytes = 0
        self._pool.shutdown(cancel_futures=True)


class RowGroupWriter:
    """A Parquet writer that gathers small tables into row groups of at least :data:`ROW_GROUP_ROWS`."""

    def __init__(self, path: Path, schema: pa.Schema, options: dict[str, Any]) -> None:
        self._schema = schema
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(path, schema, **options)
        self._pending: list[pa.Table] = []
        self._rows = 0

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending or self._writer is None:
            return
        if len(self._pending) == 1:
            table = self._pending[0]
        else:
            table = pa.concat_tables([t.replace_schema_metadata(self._schema.metadata) for t in self._pending])
        self._writer.write_table(table, row_group_size=min(max(self._rows, 1), MAX_ROW_GROUP_ROWS))
        self._pending, self._rows = [], 0

    def close(self) -> None:
        self._flush()
        self.abandon()

    def abandon(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ParquetSink:
    """Tables written to one Parquet file on a background thread (see :class:`WriteBehind`).

    The file is opened with the first table's schema and ``options(first_table)``; later tables are
    cast to that schema (a CSV partition may give ``string`` where another gave ``large_string``),
    and a :class:`DataError` names the columns that cannot be.
    """

    def __init__(
        self, path: Path, options: Callable[[pa.Table], dict[str, Any]] | None = None, *, name: str = "modelyard-write"
    ) -> None:
        self.path = path
        self._options = options
        self._name = name
        self._file: RowGroupWriter | None = None
        self._behind: WriteBehind | None = None
        self._schema: pa.Schema | None = None

    def add(self, table: pa.Table) -> None:
        if self._behind is None or self._schema is None:
            self._schema = table.schema
            self._file = RowGroupWriter(self.path, table.schema, self._options(table) if self._options else {})
            self._behind = WriteBehind(self._file.add, name=self._name)
        elif not table.schema.equals(self._schema, check_metadata=False):
            table = _cast(table, self._schema)
        self._behind.add(table)

    def close(self) -> bool:
        """Finish writing and close the file, raising what went wrong; whether any table was added."""
        if self._behind is None or self._file is None:
            return False
        self._behind.finish()
        self._file.close()  # writes the last row group and the footer: a failure must not pass
        return True

    def abort(self) -> None:
        """Stop after an error (or after ``close``, doing nothing) and close the file. Raises nothing."""
        if self._behind is not None:
            self._behind.abort()
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.abandon()


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    try:
        return table.cast(schema)
    except (ValueError, pa.ArrowNotImplementedError) as exc:  # pa.ArrowInvalid is a ValueError
        raise DataError(
            f"The data changed type between chunks: {table.schema} against the first chunk's "
            f"{schema} ({exc}); make the source's partitions agree"
        ) from exc
