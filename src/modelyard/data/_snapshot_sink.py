"""Writing a snapshot's rows: one Parquet file, written and content-hashed off the main thread.

The main thread reads partitions and runs the feature code; a writer thread encodes Parquet and a
hasher thread digests the values, each taking partitions in order. pyarrow's writer and hashlib
release the GIL on large buffers, so the three run at once when there are cores for them.

Parquet settings, chosen by measurement (``bench/data.py`` data: 1M churn rows, 22 columns; CPU
time of the writer alone; the default pyarrow writer took 555 ms and 14.7 MB):

- dictionary encoding only for columns whose values repeat, judged on a sample of the first
  partition: on the unique customer ids it cost 190 ms and gave 6.7 MB, against 32 ms and
  4.8 MB plain-encoded;
- min/max statistics only for columns that are not text (numbers and times, which readers filter
  on): statistics of the 11 text columns cost 120 ms, a quarter of the writer's time;
- snappy compression: the time goes to encoding, not compressing (no compression took as long
  and gave 21 MB); zstd gave 10.2 MB for 18% more time; lz4 gave the same as snappy.

Together: 375 ms and 12.7 MB. Row groups and the background threads: :mod:`._parquet_out`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelyard.data._parquet_out import ParquetSink, WriteBehind

__all__ = ["ContentDigest", "SnapshotSink", "parquet_options"]

_SAMPLE_ROWS = 16_384
_DICTIONARY_MAX_DISTINCT = 0.5  # share of distinct values in the sample above which values are plain-encoded


def _is_text(type_: pa.DataType) -> bool:
    return any(
        check(type_)
        for check in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    )


def parquet_options(table: pa.Table) -> dict[str, Any]:
    """Writer settings for a snapshot whose first partition is ``table`` (see the module docstring)."""
    sample = table.slice(0, _SAMPLE_ROWS)
    dictionary, statistics = [], []
    for field, column in zip(sample.schema, sample.columns, strict=True):
        categorical = pa.types.is_dictionary(field.type)
        flat = not categorical and _byte_width(field.type) is not None  # numbers, times, decimals
        if categorical or (
            (flat or _is_text(field.type))
            and pc.count_distinct(column).as_py() <= _DICTIONARY_MAX_DISTINCT * max(len(column), 1)
        ):
            dictionary.append(field.name)
        if flat or pa.types.is_boolean(field.type):
            statistics.append(field.name)
    return {"use_dictionary": dictionary, "write_statistics": statistics or False, "compression": "snappy"}


class ContentDigest:
    """The sha256 of a table's schema and values, the same however its rows are split into chunks.

    Each column feeds three digests: its values (fixed-width bytes, or the bytes of text values),
    the lengths of text values, and the row numbers of its nulls; the id is the sha256 of the
    schema and of every column's name and three digests. sha256 rather than blake2b: with the
    SHA extensions of current x86 and ARM CPUs it hashes 1.7 GB/s here, blake2b 0.9 GB/s.
    """

    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema.to_string(show_schema_metadata=False)
        self._columns = {name: (hashlib.sha256(), hashlib.sha256(), hashlib.sha256()) for name in schema.names}
        self._rows = 0

    def update(self, table: pa.Table) -> None:
        for name, column in zip(table.column_names, table.columns, strict=True):
            offset = self._rows
            for chunk in column.chunks:
                _hash_chunk(self._columns[name], chunk, offset)
                offset += len(chunk)
        self._rows += table.num_rows

    def hexdigest(self) -> str:
        combined = hashlib.sha256(self._schema.encode())
        for name, digests in self._columns.items():
            combined.update(name.encode() + b"\0" + b"".join(d.digest() for d in digests))
        return combined.hexdigest()


def _hash_chunk(digests: tuple[Any, Any, Any], chunk: pa.Array, offset: int) -> None:
    """Feed one column chunk to its digests, with no Python loop over rows and, when the chunk has
    no nulls, no copy. ``offset`` is the chunk's first row number in its column."""
    values, lengths, nulls = digests
    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    mask = None
    if chunk.null_count:
        mask = chunk.is_null().to_numpy(zero_copy_only=False)
        nulls.update(np.flatnonzero(mask).astype(np.int64) + offset)
    type_ = chunk.type
    if pa.types.is_null(type_):
        return
    if _is_text(type_):
        if mask is not None:  # a null's bytes are unspecified: hash it as empty
            empty = "" if pa.types.is_string(type_) or pa.types.is_large_string(type_) else b""
            chunk = pc.fill_null(chunk, pa.scalar(empty, type_))
        large = pa.types.is_large_string(type_) or pa.types.is_large_binary(type_)
        ends = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if large else np.int32)
        ends = ends[chunk.offset : chunk.offset + len(chunk) + 1]
        lengths.update(np.diff(ends).astype(np.int64, copy=False))
        values.update(memoryview(chunk.buffers()[2])[ends[0] : ends[-1]])
    elif pa.types.is_boolean(type_):
        if mask is not None:
            chunk = pc.fill_null(chunk, False)
        values.update(chunk.to_numpy(zero_copy_only=False))  # a byte a value: bit offsets need not align
    elif (width := _byte_width(type_)) is not None:
        data = memoryview(chunk.buffers()[1])[chunk.offset * width : (chunk.offset + len(chunk)) * width]
        if mask is not None:  # a null's bytes are unspecified: hash it as zeros
            zeroed = np.frombuffer(data, dtype=np.uint8).reshape(len(chunk), width).copy()
            zeroed[mask] = 0
            data = memoryview(zeroed)
        values.update(data)
    else:
        for item in chunk.to_pylist():  # lists, structs and other nested values: one by one (slow, rare)
            text = repr(item).encode()
            values.update(len(text).to_bytes(8, "little") + text)


def _byte_width(type_: pa.DataType) -> int | None:
    """The width of numbers, times, decimals and fixed-size binary values; None for other types."""
    try:
        bits = type_.bit_width
    except ValueError:
        return None
    return bits // 8 if bits % 8 == 0 and type_.num_buffers == 2 and type_.num_fields == 0 else None


class SnapshotSink:
    """Writes tables to one Parquet file and hashes them, each on its own background thread.

    ``add`` returns as soon as the table is queued, unless ``_parquet_out.IN_FLIGHT_BYTES`` are
    already waiting for either thread; an error on either is raised by the next ``add`` or by ``close``. Two
    threads rather than one doing both: 10-20% faster on two cores (535-552 against 582-661 ms, 1M rows).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = ParquetSink(path, parquet_options, name="modelyard-snapshot-write")
        self._hashing: WriteBehind | None = None
        self._digest: ContentDigest | None = None

    def add(self, table: pa.Table) -> None:
        if self._hashing is None or self._digest is None:
            self._digest = ContentDigest(table.schema)
            self._hashing = WriteBehind(self._digest.update, name="modelyard-snapshot-hash")
        self._file.add(table)
        self._hashing.add(table)

    def close(self) -> str:
        """Finish writing; the content hash of everything added."""
        self._file.close()
        if self._hashing is None or self._digest is None:
            return ContentDigest(pa.schema([])).hexdigest()
        self._hashing.finish()
        return self._digest.hexdigest()

    def abort(self) -> None:
        """Stop after an error (or after ``close``, doing nothing): drop the queued tables, let the
        threads finish what they are doing, and close the file. Raises nothing, so as not to hide
        the error being raised."""
        self._file.abort()
        if self._hashing is not None:
            self._hashing.abort()
