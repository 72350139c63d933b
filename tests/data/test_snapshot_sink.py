from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard import Yard
from modelyard.data import build_snapshot, list_snapshots, read_snapshot
from modelyard.data._parquet_out import ROW_GROUP_ROWS, RowGroupWriter
from modelyard.data._snapshot_sink import ContentDigest, SnapshotSink, parquet_options
from modelyard.demo.features import churn_features


def _digest(*tables: pa.Table) -> str:
    digest = ContentDigest(tables[0].schema)
    for table in tables:
        digest.update(table)
    return digest.hexdigest()


def _rechunked(table: pa.Table, sizes: list[int]) -> list[pa.Table]:
    out, start = [], 0
    for size in sizes:
        out.append(table.slice(start, size))
        start += size
    out.append(table.slice(start))
    return out


def test_the_digest_of_common_types_is_pinned() -> None:
    # The id of a snapshot made of these types must not change between releases: a new id for the
    # same extraction stores it twice. This value was computed by the first snapshot code.
    table = pa.table(
        {
            "n": pa.array([1, 2, None, 4], pa.int64()),
            "x": pa.array([0.5, None, 2.5, -1.0]),
            "s": pa.array(["a", None, "ccc", ""], pa.large_string()),
            "b": pa.array([True, False, False, True]),
            "t": pa.array([dt.datetime(2024, 1, d) for d in (1, 2, 3, 4)], pa.timestamp("ms")),
        }
    )
    expected = "2d9c4b48c5d864c5442bf63e668918d690e6f0ff9bf6aae8d65334b8aed6847a"
    assert _digest(table) == _digest(*_rechunked(table, [1, 2])) == expected


def test_the_digest_ignores_chunking_and_the_bytes_under_nulls_for_every_type() -> None:
    n = 200
    table = pa.table(
        {
            "int": pa.array([i if i % 5 else None for i in range(n)], pa.int32()),
            "bool": pa.array([i % 2 == 0 if i % 3 else None for i in range(n)]),
            "text": pa.array([f"v{i % 7}" if i % 4 else None for i in range(n)], pa.string()),
            "bytes": pa.array([b"ab" * (i % 3) if i % 6 else None for i in range(n)], pa.large_binary()),
            "category": pa.array([f"c{i % 3}" for i in range(n)]).dictionary_encode(),
            "decimal": pa.array([decimal.Decimal(f"{i}.25") if i % 9 else None for i in range(n)]),
            "date": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)]),
            "list": pa.array([[i, i + 1] if i % 8 else None for i in range(n)]),
            "nothing": pa.nulls(n),
        }
    )
    whole = _digest(table)
    assert _digest(*_rechunked(table, [1, 63, 64, 7])) == whole
    # The same values rebuilt from Python objects: new buffers, other bytes under the nulls.
    assert _digest(pa.Table.from_pylist(table.to_pylist(), schema=table.schema)) == whole
    garbage = pa.Array.from_buffers(
        pa.int32(), n, [table["int"].chunk(0).buffers()[0], pa.array(range(n), pa.int32()).buffers()[1]]
    )
    assert _digest(table.set_column(0, "int", garbage)) == whole


def test_one_changed_value_changes_the_digest() -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]})
    assert _digest(table) != _digest(table.set_column(0, "x", pa.array([1.0, 2.0, 3.5])))
    assert _digest(table) != _digest(table.set_column(1, "s", pa.array(["a", "bc", ""])))


def test_repeating_columns_are_dictionary_encoded_and_text_has_no_statistics() -> None:
    n = 10_000
    table = pa.table(
        {
            "id": [f"C{i:08d}" for i in range(n)],
            "plan": ["basic", "premium"] * (n // 2),
            "amount": [i * 0.37 for i in range(n)],
            "flag": [i % 2 for i in range(n)],
        }
    )
    options = parquet_options(table)
    assert options["use_dictionary"] == ["plan", "flag"]
    assert options["write_statistics"] == ["amount", "flag"]


def test_small_partitions_are_gathered_into_row_groups(tmp_path: Path) -> None:
    part = pa.table({"x": pa.array(range(1000), pa.int64())})
    count = ROW_GROUP_ROWS // 1000 + 2
    sink = SnapshotSink(tmp_path / "data.parquet")
    for _ in range(count):
        sink.add(part)
    digest = sink.close()
    meta = pq.ParquetFile(tmp_path / "data.parquet").metadata
    assert meta.num_rows == count * 1000 and meta.num_row_groups == 2
    assert digest == _digest(pa.concat_tables([part] * count))


def test_a_failed_write_leaves_no_snapshot(yard: Yard, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self: object, table: pa.Table) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(RowGroupWriter, "add", full_disk)
    with pytest.raises(OSError, match="No space left"):
        build_snapshot(yard, "churn")
    assert list_snapshots(yard) == []
    folder = yard.settings.resolved_home() / "snapshots"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_snapshot_reads_back_with_the_feature_codes_dtypes(yard: Yard, data_root: Path) -> None:
    snap = build_snapshot(yard, "churn")
    frame = read_snapshot(yard, snap)
    expected = churn_features(frame)
    for column in expected.columns:
        assert frame[column].dtype == expected[column].dtype, column
    meta = pq.ParquetFile(snap.path).metadata
    assert meta.num_rows == snap.row_count and meta.num_row_groups == 1  # small monthly partitions, gathered
