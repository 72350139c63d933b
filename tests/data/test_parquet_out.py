from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard import DataError
from modelyard.data._parquet_out import ParquetSink, WriteBehind


def test_later_tables_are_cast_to_the_first_schema(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "ok.parquet")
    sink.add(pa.table({"key": pa.array(["a", "b"], pa.large_string()), "score": [0.1, 0.2]}))
    sink.add(pa.table({"key": pa.array(["c"], pa.string()), "score": [0.3]}))  # string vs large_string
    assert sink.close()
    written = pq.read_table(tmp_path / "ok.parquet")
    assert written.column("key").to_pylist() == ["a", "b", "c"]
    assert written.schema.field("key").type == pa.large_string()


def test_a_table_that_cannot_be_cast_is_refused_naming_both_schemas(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "bad.parquet")
    sink.add(pa.table({"key": pa.array([1, 2], pa.int64()), "score": [0.1, 0.2]}))
    with pytest.raises(DataError, match="changed type between chunks") as caught:
        sink.add(pa.table({"key": pa.array(["C0001"], pa.string()), "score": [0.3]}))
    assert "key: string" in str(caught.value) and "key: int64" in str(caught.value)
    with pytest.raises(DataError, match="changed type between chunks"):
        sink.add(pa.table({"id": pa.array([3], pa.int64()), "score": [0.3]}))  # a renamed column
    sink.abort()  # after an error: raises nothing
    sink.abort()


def test_a_sink_given_nothing_writes_nothing(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "empty.parquet")
    assert not sink.close()
    sink.abort()
    assert not (tmp_path / "empty.parquet").exists()


def test_the_options_are_taken_from_the_first_table(tmp_path: Path) -> None:
    seen: list[int] = []

    def options(table: pa.Table) -> dict[str, object]:
        seen.append(table.num_rows)
        return {"compression": "zstd"}

    sink = ParquetSink(tmp_path / "z.parquet", options)
    sink.add(pa.table({"x": list(range(5))}))
    sink.add(pa.table({"x": list(range(3))}))
    assert sink.close()
    assert seen == [5]
    assert pq.ParquetFile(tmp_path / "z.parquet").metadata.row_group(0).column(0).compression == "ZSTD"


def test_write_behind_runs_in_order_off_the_callers_thread() -> None:
    done: list[tuple[int, str]] = []
    behind = WriteBehind(lambda t: done.append((t.num_rows, threading.current_thread().name)), name="test-behind")
    for n in range(1, 6):
        behind.add(pa.table({"x": list(range(n))}))
    behind.finish()
    assert [n for n, _ in done] == [1, 2, 3, 4, 5]
    assert all(name.startswith("test-behind") for _, name in done)


def test_write_behind_holds_no_more_than_its_bound_and_at_least_one_table() -> None:
    release = threading.Event()
    started: list[int] = []

    def work(table: pa.Table) -> None:
        started.append(table.num_rows)
        release.wait(5)

    table = pa.table({"x": pa.array(range(1000), pa.int64())})  # 8,000 bytes
    behind = WriteBehind(work, name="test-bound", max_bytes=20_000)
    behind.add(table)
    behind.add(table)  # 16,000 bytes queued: under the bound, so add returns at once
    adding = threading.Thread(target=behind.add, args=(table,))
    adding.start()
    adding.join(0.3)
    assert adding.is_alive()  # a third would make 24,000 bytes: it waits for the first to finish
    release.set()
    adding.join(5)
    assert not adding.is_alive()
    behind.finish()
    assert started == [1000, 1000, 1000]

    big = WriteBehind(lambda t: None, name="test-big", max_bytes=1)
    big.add(table)  # bigger than the bound alone: still taken
    big.finish()


def test_the_first_error_is_raised_by_the_next_call_and_later_tables_are_skipped() -> None:
    ran: list[int] = []
    release = threading.Event()

    def work(table: pa.Table) -> None:
        release.wait(5)
        ran.append(table.num_rows)
        if table.num_rows == 1:
            raise OSError("No space left on device")

    behind = WriteBehind(work, name="test-error")
    for n in (1, 2, 3):
        behind.add(pa.table({"x": list(range(n))}))  # all queued behind the one that will fail
    release.set()
    with pytest.raises(OSError, match="No space left"):
        behind.finish()
    behind.abort()
    assert ran == [1]

    early = WriteBehind(work, name="test-error-early")  # far under its bound, and still told at once
    early.add(pa.table({"x": [1]}))
    time.sleep(0.2)  # the thread has failed by now
    with pytest.raises(OSError, match="No space left"):
        early.add(pa.table({"x": [1, 2]}))
    early.abort()

    one_at_a_time = WriteBehind(work, name="test-error-next", max_bytes=1)
    one_at_a_time.add(pa.table({"x": [1]}))
    with pytest.raises(OSError, match="No space left"):  # waits for the failed table, and raises its error
        one_at_a_time.add(pa.table({"x": [1, 2]}))
    one_at_a_time.abort()
