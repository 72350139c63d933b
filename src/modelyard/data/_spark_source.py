"""A Spark table or path as a production source: filtered and ordered in Spark, streamed in Arrow pages.

Source strings (the ``spark`` extra):

- ``spark:TABLE``: a table or view in the session's catalog, e.g. ``spark:sales.customers``;
- ``spark:parquet:PATH`` or ``spark:csv:PATH``: a file, folder or glob Spark reads (relative paths
  are under the project root; URLs such as ``s3a://bucket/churn/`` are passed on as they are).

The time range is a filter in Spark, so it reaches the Parquet reader (pushdown). Rows come in a
total order (the time column, then every column), the same on every run, so the same extraction
gives the same snapshot id. They reach the driver a Spark partition at a time, as Arrow batches.

Spark takes a path's schema from one file, so files that drifted apart would be read quietly
wrong: a Parquet file without a column as nulls, a CSV file's values under other columns; and it
skips an empty file without a word. So every local file is checked first, from a Parquet file's
footer or a CSV file's first line (about 8 ms for the demo's 24 monthly Parquet files, where Spark
takes about 100 ms to resolve the path): an empty file, a Parquet file whose footer does not read,
or drift stops the read with a DataError naming the file and the column. Parquet files follow the
rule of file sources (a later file may add columns, none may lack one of the first file's, a
column keeps its type); CSV files must agree column for column. Files under a URL (``s3a://``,
``hdfs://``), compressed CSV files and Parquet files with an encrypted footer are not checked: a
Parquet column missing there reads as nulls, one whose type changed fails in Spark; Spark still
checks each CSV header (``enforceSchema=false``), though a drifted header, inferred as a row, has
usually turned the time column into strings first.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from modelyard._exceptions import DataError, UsageError
from modelyard.data._sources import Partition, TimeRange, day_bound, partition_name, stored_type

__all__ = ["SparkSource", "file_name", "spark_reason"]

FORMATS = ("parquet", "csv")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ipc_batches() -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """What Spark's Python workers run: each Arrow batch as one row holding its IPC bytes. A closure,
    so it travels by value and the workers import pyarrow only, not modelyard."""

    def to_ipc(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            yield pa.RecordBatch.from_arrays([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["batch"])

    return to_ipc


def _in_utc(table: pa.Table) -> pa.Table:
    """Zoned timestamps in UTC whatever the Spark session's time zone (a metadata-only cast)."""
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit, "UTC")) if pa.types.is_timestamp(f.type) and f.type.tz else f
        for f in table.schema
    ]
    target = pa.schema(fields)
    return table if target.equals(table.schema) else table.cast(target)


def _column(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


class SparkSource:
    """A Spark table or Parquet/CSV path, read in the active Spark session (local mode if none)."""

    def __init__(self, source: str, root: Path, *, page_rows: int = 100_000, named: str | None = None) -> None:
        """``named``: how messages name the source (default ``data.source 'SOURCE'``)."""
        rest = source[len("spark:") :].strip()
        kind, _, path = rest.partition(":")
        self.table: str | None = None
        self.format: str | None = None
        self.path: str | None = None
        if not path:
            if not rest:
                raise UsageError(
                    f"data.source {source!r} names no Spark table or path; write spark:TABLE, "
                    "spark:parquet:PATH or spark:csv:PATH"
                )
            self.table = rest
        elif kind.lower() in FORMATS:
            self.format = kind.lower()
            absolute = "://" in path or path.startswith("file:") or Path(path).is_absolute()
            self.path = path if absolute else str(root / path)
        else:
            raise UsageError(
                f"data.source {source!r}: Spark reads {' or '.join(FORMATS)} paths, not {kind!r}; "
                "write spark:parquet:PATH, spark:csv:PATH or spark:TABLE"
            )
        self.description = source
        self.named = named or f"data.source {source!r}"
        self.page_rows = page_rows
        self._root = root

    def count_partitions(self) -> int:
        return 0  # unknown until read

    def read(self, spark: Any) -> Any:
        """The whole source as a Spark DataFrame (planned, not yet run); a path's local files are
        checked first."""
        try:
            frame = self._frame(spark)
        except DataError:
            if self.path is not None:  # a damaged file Spark met taking the schema from it: named, if local
                self._check_files(self._listing(spark))
            raise
        if self.path is not None:
            self._check_files(frame.inputFiles())
        return frame

    def _frame(self, spark: Any) -> Any:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            if self.table is not None:
                return spark.table(self.table)
            reader = spark.read.option("header", "true").option("inferSchema", "true")
            if self.format == "csv":  # Spark checks every file's header against the schema, not just one
                return reader.option("enforceSchema", "false").csv(self.path)
            return reader.parquet(self.path)
        except (PySparkException, Py4JJavaError) as exc:
            what = f"table {self.table!r}" if self.table else f"{self.format} path {self.path!r}"
            raise DataError(
                f"{self.named}: Spark cannot read the {what} "
                f"({spark_reason(exc)}); check the name, or that the data has landed"
            ) from exc

    def _listing(self, spark: Any) -> list[str]:
        """The files of the path, listed by Spark without reading any (none if it cannot list them)."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            return list(spark.read.schema("_ string").format(self.format).load(self.path).inputFiles())
        except (PySparkException, Py4JJavaError):
            return []

    def _check_files(self, files: list[str]) -> None:
        """The local ones of ``files`` (as Spark lists them) can be read and agree on their columns,
        read from a Parquet file's footer or a CSV file's first line only. An empty file, which Spark
        would skip without a word, or a Parquet file whose footer does not read is refused. Parquet
        files follow the rule of file sources: no file lacks a column of the first (columns added later
        are fine), and a column has one type in every file. CSV files, whose values are placed by
        position, must have the same columns in the same order. Names compare as Spark compares them
        by default, without case."""
        paths = sorted(path for path in map(_local_path, files) if path is not None)
        if self.format == "csv":
            paths = [path for path in paths if path.lower().endswith(".csv")]  # compressed: left to Spark
            columns = {self._name(path): names for path in paths if (names := self._csv_columns(path))}
            drift = _vanished(columns) or _moved(columns)
        else:
            schemas = {self._name(path): schema for path in paths if (schema := self._footer(path)) is not None}
            drift = _lacking({file: schema.names for file, schema in schemas.items()})
            if drift is None and (retyped := _retyped(schemas)) is not None:
                raise DataError(
                    f"Schema drift in {self.named}: {retyped}; make the types agree upstream (rewrite that "
                    "partition), or move it out of the path"
                )
        if drift is not None:
            raise DataError(
                f"Schema drift in {self.named}: partition {drift}; rewrite that partition "
                "with the same columns as the others, or move it out of the path"
            )

    def _name(self, path: str) -> str:
        return partition_name(path, self._root)

    def _unreadable(self, path: str, reason: str) -> DataError:
        return DataError(
            f"Cannot read partition {self._name(path)} of {self.named}: {reason}; rewrite that file, "
            "or move it out of the path"
        )

    def _refuse_empty(self, path: str) -> None:
        if _is_empty(path):
            raise self._unreadable(path, "the file is empty (0 bytes), and Spark would skip it without a word")

    def _csv_columns(self, path: str) -> list[str]:
        """A CSV file's column names, from its first line; none when this check cannot read it."""
        self._refuse_empty(path)
        try:
            with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
                return next(csv.reader(file), [])
        except (OSError, csv.Error):
            return []

    def _footer(self, path: str) -> pa.Schema | None:
        """A Parquet file's schema, from its footer; None for an encrypted footer (left to Spark,
        which may hold the keys). A file that is empty or whose footer does not read is refused."""
        self._refuse_empty(path)
        try:
            return pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            if _encrypted_footer(path):
                return None
            raise self._unreadable(path, str(exc).strip() or type(exc).__name__) from exc

    def _in_range(self, frame: Any, column: str, time_range: TimeRange) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        if column not in frame.columns:
            raise DataError(f"{self.named} has no time column {column!r} (data.time); its columns are {frame.columns}")
        kind = frame.schema[column].dataType
        for bound, is_start in ((time_range.start, True), (time_range.end, False)):
            if bound is None:
                continue
            utc = _as_utc(bound)
            if isinstance(kind, T.TimestampType):  # an instant: compare with the bound's instant
                value = F.timestamp_micros(F.lit((utc - _EPOCH) // timedelta(microseconds=1)))
            elif isinstance(kind, T.TimestampNTZType):  # wall times are taken to be UTC, as for files
                value = F.lit(utc.replace(tzinfo=None).isoformat(" ")).cast("timestamp_ntz")
            elif isinstance(kind, T.DateType):
                value = F.lit(day_bound(bound).isoformat()).cast("date")
            else:
                raise DataError(
                    f"The time column {column!r} of {self.named} is {kind.simpleString()}, "
                    "not a timestamp or date; store it as a timestamp upstream"
                )
            col = _column(column)
            frame = frame.where(col >= value if is_start else col < value)
        return frame

    def dataframe(self, time_column: str | None, time_range: TimeRange) -> Any:
        """The rows in ``time_range``, in snapshot order, as a Spark DataFrame (planned, not yet run)."""
        from pyspark.sql import SparkSession
        from pyspark.sql import types as T

        from modelyard.data._spark import spark_session

        spark = SparkSession.getActiveSession() or spark_session()
        frame = self.read(spark)
        if time_column is not None:
            frame = self._in_range(frame, time_column, time_range)
        # A total order (time first, then every column that has one), so a re-run gives the same
        # rows in the same order, and so the same snapshot id.
        names = ([time_column] if time_column else []) + [c for c in frame.columns if c != time_column]
        orderable = [n for n in names if not isinstance(frame.schema[n].dataType, T.MapType)]
        return frame.orderBy(*[_column(n).asc() for n in orderable])

    def partitions(self, time_column: str | None, time_range: TimeRange) -> Iterator[Partition]:
        stream = self.dataframe(time_column, time_range).mapInArrow(_ipc_batches(), "batch binary")
        pending: list[pa.Table] = []
        held = page = 0
        for row in self._rows(stream):
            table = pa.ipc.open_stream(row.batch).read_all()
            pending.append(table)
            held += table.num_rows
            if held >= self.page_rows:
                page += 1
                yield self._page(pending, page)
                pending, held = [], 0
        if pending:
            yield self._page(pending, page + 1)

    def _page(self, tables: list[pa.Table], page: int) -> Partition:
        table = _in_utc(pa.concat_tables(tables))
        return Partition(f"{self.description} page {page}", table.to_pandas())

    def _rows(self, stream: Any) -> Iterator[Any]:
        """Spark's result a partition at a time; Spark's failures (a corrupt file, a type that
        changed between files) as a DataError naming the source and Spark's reason."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        rows: Iterator[Any] | None = None
        while True:
            try:
                rows = rows or stream.toLocalIterator(prefetchPartitions=True)  # runs the sort's sampling job
                row = next(rows)
            except StopIteration:
                return
            except (PySparkException, Py4JJavaError) as exc:
                raise DataError(
                    f"Spark failed reading {self.named}: {spark_reason(exc)}; fix or move "
                    "out the file it names (a column whose type differs between files, a damaged file)"
                ) from exc
            yield row


def _local_path(uri: str) -> str | None:
    """The local path of a file Spark lists (a ``file:`` URI or a plain path); None under another URL."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return unquote(parts.path)
    return None if parts.scheme else uri


def file_name(uri: str, root: Path) -> str:
    """A file Spark lists, as messages name it: relative to the project root when it is under it."""
    path = _local_path(uri)
    return uri if path is None else partition_name(path, root)


def _is_empty(path: str) -> bool:
    try:
        return Path(path).stat().st_size == 0
    except OSError:
        return False  # left to the reader, which says why


def _encrypted_footer(path: str) -> bool:
    """Whether a Parquet file ends in the magic bytes of an encrypted footer."""
    try:
        with open(path, "rb") as file:
            file.seek(-4, 2)
            return file.read(4) == b"PARE"
    except OSError:
        return False


def _retyped(schemas: dict[str, pa.Schema]) -> str | None:
    """The first column whose type in a file differs from its type in the first file that has it,
    compared as file sources compare them (text and time units as a snapshot stores them, an
    all-null column matching any type), as a phrase; None if every column keeps its type."""
    first: dict[str, tuple[str, pa.DataType]] = {}
    for file, schema in schemas.items():
        for field in schema:
            type_ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
            if pa.types.is_null(type_):
                continue
            seen, seen_type = first.setdefault(field.name.lower(), (file, type_))
            if stored_type(type_) != stored_type(seen_type):
                return f"column {field.name!r} is {type_} in partition {file} but {seen_type} in {seen}"
    return None


def _lacking(columns: dict[str, list[str]]) -> str | None:
    """The first file lacking a column of the first file, as a phrase; None if none lacks any."""
    first, reference = next(iter(columns.items()), ("", []))
    for file, names in columns.items():
        present = {name.lower() for name in names}
        missing = [name for name in reference if name.lower() not in present]
        if missing:
            return f"{file} has no column {missing[0]!r}, which {first} has"
    return None


def _vanished(columns: dict[str, list[str]]) -> str | None:
    """The first file lacking a column that another file has, as a phrase; None if none lacks any."""
    sets = {file: {name.lower() for name in names} for file, names in columns.items()}
    if len({frozenset(names) for names in sets.values()}) <= 1:
        return None
    for column in dict.fromkeys(name for names in columns.values() for name in names):
        lacking = [file for file, names in sets.items() if column.lower() not in names]
        if lacking:
            having = next(file for file, names in sets.items() if column.lower() in names)
            more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
            return f"{lacking[0]}{more} has no column {column!r}, which {having} has"
    return None


def _moved(columns: dict[str, list[str]]) -> str | None:
    """The first file whose columns are in another order than the first file's, as a phrase."""
    first, order = next(iter(columns.items()), ("", []))
    for file, names in columns.items():
        for position, (name, expected) in enumerate(zip(names, order, strict=False), start=1):
            if name.lower() != expected.lower():
                return f"{file} has column {name!r} where {first} has {expected!r} (column {position})"
    return None


def spark_reason(exc: BaseException) -> str:
    """The first line of Spark's own message (a Java exception's, not py4j's wrapper), without its
    trailing SQLSTATE code; and when Python code on a worker raised (feature code, a model), its
    exception, which Spark buries in a traceback further down (one of modelyard's own errors alone,
    as its message says it all)."""
    java = getattr(exc, "java_exception", None)
    text = str(java.getMessage()) if java is not None else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = re.sub(r"\s*SQLSTATE: \w+\.?$", "", lines[0]) if lines else type(exc).__name__
    python = _python_error(str(exc)) or _python_error(text)
    if python is not None and python.startswith("modelyard."):  # modelyard's own error, raised on a worker
        return python.partition(": ")[2] or python
    if python is None or python in reason:
        return reason
    return f"{reason.rstrip(': ')}: {python}" if "Python" in reason else f"{reason} (a Python worker raised {python})"


def _python_error(text: str) -> str | None:
    """The exception line of the first Python traceback in ``text`` (Spark's PythonException)."""
    _, found, rest = text.partition("Traceback (most recent call last):")
    if not found:
        return None
    last = None
    for line in rest.splitlines():
        if line.lstrip().startswith("at "):  # the Java frames after the Python traceback
            break
        if line.strip() and not line[0].isspace():
            last = line.strip()
    return last


def _as_utc(bound: datetime) -> datetime:
    """A range bound as an aware UTC time (a naive one is taken to be UTC, as for files)."""
    return bound.replace(tzinfo=UTC) if bound.tzinfo is None else bound.astimezone(UTC)
