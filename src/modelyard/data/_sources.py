"""Production data sources named in a use case's ``data.source``: files, SQL tables, Spark tables.

A source yields its rows in partitions (a file, a query page), each restricted to a time range
on the spec's time column, so a snapshot never holds more than one partition in memory.

Source strings:

- ``data/churn/*.parquet`` or ``*.csv``: a path or glob, relative to the project root;
- ``postgresql://user@host:5432/db?table=customers`` (or ``&query=SELECT ...``): a SQL table or query;
- ``spark:TABLE``, ``spark:parquet:PATH`` or ``spark:csv:PATH``: a table in the Spark session's
  catalog, or files Spark reads (optional ``spark`` extra; see :mod:`._spark_source`).
"""

from __future__ import annotations

import glob as globlib
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelyard._exceptions import DataError, MissingExtraError, StoreUnavailableError, UsageError

__all__ = [
    "FileSource",
    "Partition",
    "Source",
    "SqlSource",
    "TimeRange",
    "day_bound",
    "open_source",
    "partition_name",
    "stored_type",
]


@dataclass(frozen=True)
class TimeRange:
    """Rows with ``start <= time < end``; either end may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and _utc(self.start) >= _utc(self.end):
            raise UsageError(
                f"The time range is empty: --from {_shown(self.start)} is not before --to {_shown(self.end)}; "
                "swap them or widen the range"
            )

    def describe(self) -> str:
        """``[start, end)`` as messages show it: dates, with the time (in UTC) where it is not midnight."""
        start = _shown(self.start) if self.start else "the beginning"
        end = _shown(self.end) if self.end else "the end"
        return f"[{start}, {end})"


def _utc(bound: datetime) -> datetime:
    """``bound`` as a naive UTC time; naive times are taken to be UTC, as the sources take them."""
    return bound.astimezone(UTC).replace(tzinfo=None) if bound.tzinfo is not None else bound


def _shown(bound: datetime) -> str:
    """A bound in messages: ``2024-01-01`` at midnight UTC, else ``2023-12-31 19:00 UTC``."""
    utc = _utc(bound)
    if utc.time() == time(0):
        return utc.date().isoformat()
    precision = "microseconds" if utc.microsecond else "seconds" if utc.second else "minutes"
    return f"{utc.isoformat(sep=' ', timespec=precision)} UTC"


@dataclass(frozen=True)
class Partition:
    """One piece of a source: its name (a file, a page) and its rows in the time range."""

    name: str
    frame: pd.DataFrame


class Source(Protocol):
    """Something that yields a use case's raw rows, partition by partition."""

    description: str

    def partitions(self, time_column: str | None, time_range: TimeRange) -> Iterator[Partition]: ...

    def count_partitions(self) -> int: ...


def day_bound(bound: datetime) -> date:
    """A bound on a date column: a row dated D is at D 00:00 UTC, so a bound with a time of day (in
    UTC) is the next day, for a start (D >= bound) as for an end (D < bound)."""
    utc = _utc(bound)
    return utc.date() + timedelta(days=1) if utc.time() != time(0) else utc.date()


def _bound_scalar(bound: datetime, type_: pa.DataType, column: str, partition: str) -> pa.Scalar:
    stamp = pd.Timestamp(bound)
    if pa.types.is_timestamp(type_):
        if type_.tz is None:  # naive times are taken to be UTC
            stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
        elif stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        return pa.scalar(stamp.to_pydatetime(), type=type_)
    if pa.types.is_date(type_):
        return pa.scalar(day_bound(bound), type=type_)
    if pa.types.is_null(type_):
        raise DataError(
            f"The time column {column!r} (data.time) is empty on every row of partition {partition}; "
            "fill it upstream or remove the partition"
        )
    raise DataError(
        f"The time column {column!r} (data.time) is {type_} in partition {partition}, not a timestamp or date; "
        "store it as a timestamp upstream"
    )


def _time_mask(table: pa.Table, column: str, time_range: TimeRange, partition: str) -> pa.ChunkedArray | None:
    values = table.column(column)
    mask = None
    for bound, op in ((time_range.start, pc.greater_equal), (time_range.end, pc.less)):
        if bound is None:
            continue
        cond = op(values, _bound_scalar(bound, values.type, column, partition))
        mask = cond if mask is None else pc.and_(mask, cond)
    return mask


def partition_name(path: str, root: Path) -> str:
    """A partition file's name in messages: relative to the project root when it is under it."""
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


class FileSource:
    """Parquet or CSV files matched by a glob, read one file at a time with pyarrow."""

    def __init__(self, pattern: str, root: Path, *, named: str | None = None) -> None:
        """``named``: how messages name the source (default ``data.source 'PATTERN'``)."""
        self.pattern = pattern
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        self.files = sorted(globlib.glob(full, recursive=True))  # ** matches nested folders
        self.description = pattern
        named = named or f"data.source {pattern!r}"
        if Path(full).is_dir() and not _is_dataset(full):
            raise DataError(_folder_message(named, pattern, Path(full)))
        if not self.files:
            raise DataError(
                f"{named} matches no files under {root}; check the path, or build the "
                "data first (the demo writes data/churn/*.parquet)"
            )
        folders = [f for f in self.files if Path(f).is_dir() and not _is_dataset(f)]
        if folders:
            raise DataError(
                f"{named} matches folders ({', '.join(partition_name(f, root) for f in folders[:3])}"
                f"{', ...' if len(folders) > 3 else ''}); match their files instead, e.g. "
                f"'{partition_name(folders[0], root)}/*.parquet'"
            )
        suffixes = {Path(f).suffix.lower() for f in self.files}
        if not suffixes <= {".parquet", ".csv"}:
            raise DataError(f"{named} matches files of kinds {_kinds(suffixes)}; use .parquet or .csv files")
        self._root = root

    def count_partitions(self) -> int:
        return len(self.files)

    def _read(self, path: str) -> pa.Table:
        try:
            if path.lower().endswith(".csv"):
                return _read_csv(path)
            return pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"Cannot read partition {self._name(path)}: {exc}") from exc

    def _name(self, path: str) -> str:
        return partition_name(path, self._root)

    def partitions(self, time_column: str | None, time_range: TimeRange) -> Iterator[Partition]:
        reference: tuple[str, pa.Schema] | None = None
        for path in self.files:
            table = self._read(path)
            name = self._name(path)
            if table.num_rows == 0:  # e.g. a month with no rows: a CSV header alone has no types to check
                yield Partition(name, table.to_pandas())
                continue
            if reference is None:
                reference = (name, table.schema)
            else:
                _check_same_schema(reference, name, table.schema)
            if time_column is not None:
                if time_column not in table.column_names:
                    raise DataError(
                        f"Partition {name} has no time column {time_column!r} (data.time); "
                        f"its columns are {table.column_names}"
                    )
                mask = _time_mask(table, time_column, time_range, name)
                if mask is not None:
                    table = table.filter(mask)
            yield Partition(name, table.to_pandas())


def _read_csv(path: str) -> pa.Table:
    """A CSV file; a header alone (a month with no rows) is a table with no rows, even without a
    final newline, which pyarrow would take for an empty file."""
    try:
        return pacsv.read_csv(path)
    except pa.ArrowInvalid:
        if Path(path).stat().st_size > 1_000_000:
            raise
        text = Path(path).read_bytes().rstrip(b"\r\n")
        if not text or b"\n" in text:
            raise
        return pacsv.read_csv(io.BytesIO(text + b"\n"))


def _kinds(suffixes: set[str]) -> str:
    return ", ".join(sorted(s or "(no extension)" for s in suffixes))


def _is_dataset(path: str) -> bool:
    """A folder named ``*.parquet``: a Parquet dataset as pandas (partition_cols) and Spark write it,
    read whole by pyarrow."""
    return path.rstrip("/").lower().endswith(".parquet")


def _folder_message(named: str, pattern: str, folder: Path) -> str:
    """Why a folder is not a source, and the glob to give instead (for the kind of file it holds
    most, looking into its subfolders when it holds none itself)."""
    kinds = Counter(p.suffix.lower() for p in folder.iterdir() if p.is_file())
    where, holds = "*", f"it holds {_kinds(set(kinds))} files"
    nested = Counter(p.suffix.lower() for p in folder.rglob("*") if p.is_file()) if not kinds else None
    if nested:
        kinds, where, holds = nested, "**/*", f"its subfolders hold {_kinds(set(nested))} files"
    elif not kinds:
        holds = "it holds no files"
    usable = [kind for kind, _ in kinds.most_common() if kind in (".parquet", ".csv")]
    glob = f"'{pattern.rstrip('/')}/{where}{usable[0] if usable else '.parquet'}'"
    return f"{named} is a folder ({holds}); name its files with a glob, e.g. {glob}"


def _check_same_schema(reference: tuple[str, pa.Schema], name: str, schema: pa.Schema) -> None:
    first_name, first = reference
    for field in first:
        if field.name not in schema.names:
            raise DataError(
                f"Schema drift: partition {name} has no column {field.name!r}, which {first_name} has; "
                "restore the column upstream or rebuild the partition"
            )
        other = schema.field(field.name).type
        untyped = pa.types.is_null(other) or pa.types.is_null(field.type)
        if stored_type(other) != stored_type(field.type) and not untyped:
            raise DataError(
                f"Schema drift: column {field.name!r} is {other} in partition {name} but {field.type} in "
                f"{first_name}; make the types agree upstream"
            )


def stored_type(type_: pa.DataType) -> pa.DataType:
    """The type a snapshot stores for ``type_``: text as large_string, times in µs (where no
    nanoseconds are lost; the snapshot checks). Partitions that differ only in how a writer stored
    the same values (pandas 3 writes large_string, other tools string; ms or µs) are not drift."""
    if pa.types.is_string(type_):
        return pa.large_string()
    if pa.types.is_timestamp(type_):
        return pa.timestamp("us", tz=type_.tz)
    return type_


class SqlSource:
    """A table or query in a SQL database (PostgreSQL for teams), read in pages."""

    def __init__(self, url: str, *, page_rows: int = 100_000, setting: str = "data.source") -> None:
        """``setting``: where the URL was given, for messages (``data.source``, ``--data``)."""
        if url.lower().startswith("postgres:"):  # libpq's short scheme, which SQLAlchemy does not know
            url = "postgresql:" + url[len("postgres:") :]
        parts = urlsplit(url)
        params = parse_qs(parts.query)
        self.table = params.pop("table", [None])[0]
        self.query = params.pop("query", [None])[0]
        self._setting = setting
        shown = _shown_url(url)
        if not (self.table or self.query) or (self.table and self.query):
            raise UsageError(
                f"{setting} {shown} must name exactly one of ?table=NAME or ?query=SELECT..., "
                "e.g. postgresql://user@host/db?table=customers"
            )
        if self.table:
            self._from = self._quote_table(self.table)
        else:
            self._from = f"({self.query}) AS q"
        # The URL as given, less table= and query=: rebuilt from its parts, sqlite:////abs/path.db
        # would lose two of its slashes.
        rest = urlencode(params, doseq=True)
        self.url = url.partition("?")[0] + (f"?{rest}" if rest else "")
        self.page_rows = page_rows
        self.description = f"{shown} " + (f"table {self.table}" if self.table else "query")

    def _quote_table(self, name: str) -> str:
        parts = name.split(".")
        if not all(part.replace("_", "").isalnum() for part in parts):
            raise UsageError(
                f"{self._setting} ?table={name!r} is not a plain table name; use letters, digits and '_' "
                "(schema.table for another schema), or read it with ?query=SELECT ... quoting the name yourself"
            )
        return ".".join(f'"{part}"' for part in parts)

    def count_partitions(self) -> int:
        return 0  # unknown until read

    def _engine(self) -> Any:
        """An engine for the source's database; a missing driver or a URL SQLAlchemy cannot read is
        the user's to fix, named as a data source (not as the registry the store's engine serves)."""
        import sqlalchemy as sa

        from modelyard.store._engine import create_store_engine

        named = f"{self._setting} {self.description}"
        try:
            url = sa.engine.make_url(self.url)
            if url.get_backend_name() == "sqlite":  # read as it is: the registry's engine would make the file, WAL on
                if not url.database or url.database == ":memory:" or not Path(url.database).is_file():
                    raise DataError(
                        f"{named}: no SQLite file at {url.database!r}; check the path "
                        "(an absolute one takes four slashes: sqlite:////data/sales.db?table=customers)"
                    )
                return sa.create_engine(url)
            return create_store_engine(self.url)
        except (ModuleNotFoundError, MissingExtraError) as exc:
            missing = exc.package if isinstance(exc, MissingExtraError) else exc.name
            fix = "pip install 'modelyard[postgres]'" if missing == "psycopg" else f"install the driver ({missing})"
            raise UsageError(
                f"{named}: Python has no database driver {missing!r} for it; {fix}, "
                "or name an installed driver in the URL (e.g. mysql+pymysql://)"
            ) from exc
        except (StoreUnavailableError, sa.exc.ArgumentError) as exc:  # NoSuchModuleError is an ArgumentError
            reason = "unparsable" if isinstance(exc, StoreUnavailableError) else str(exc).splitlines()[0]
            raise UsageError(
                f"{named} is not a database URL SQLAlchemy reads ({reason}); use e.g. "
                "postgresql://user@host:5432/db?table=customers or sqlite:////absolute/path.db?table=customers"
            ) from exc

    def partitions(self, time_column: str | None, time_range: TimeRange) -> Iterator[Partition]:
        import sqlalchemy as sa

        where: list[str] = []
        params: dict[str, Any] = {}
        column = _quote_column(time_column) if time_column is not None else None
        if column is not None and time_range.start is not None:
            where.append(f"{column} >= :start")
            params["start"] = time_range.start
        if column is not None and time_range.end is not None:
            where.append(f"{column} < :end")
            params["end"] = time_range.end
        base = f"SELECT * FROM {self._from}"
        sql = base + (f" WHERE {' AND '.join(where)}" if where else "")
        named = f"{self._setting} {self.description}"
        engine = self._engine()
        try:
            try:
                conn = engine.connect()
            except sa.exc.SQLAlchemyError as exc:
                raise DataError(
                    f"Cannot connect to {named}: {_reason(exc)}; check the host, port, user and database "
                    f"in {self._setting}, and that the server is running"
                ) from exc
            with conn:
                if conn.dialect.name == "postgresql":
                    # A `timestamp` column meets the bounds (UTC) in the session's time zone, and
                    # `timestamptz` values come back in it: pin it, so every session reads the same rows.
                    conn.exec_driver_sql("SET TIME ZONE 'UTC'")
                elif conn.dialect.name == "sqlite":
                    # Times are text there ('2024-01-01 00:00:00', as pandas writes them): compare with
                    # naive UTC text, or a row at the start would sort before '2024-01-01 00:00:00+00:00'.
                    params = {key: _utc(value).isoformat(sep=" ") for key, value in params.items()}
                # A total order (time first, then every column), so the same extraction gives the same
                # rows in the same order, and so the same snapshot id.
                names = list(conn.execute(sa.text(f"{base} LIMIT 0")).keys())
                order = ([time_column] if time_column else []) + [n for n in names if n != time_column]
                sql += " ORDER BY " + ", ".join(f'"{n}"' for n in order if '"' not in n)
                result = conn.execution_options(stream_results=True).execute(sa.text(sql), params)
                columns = list(result.keys())
                page = 0
                while rows := result.fetchmany(self.page_rows):
                    page += 1
                    yield Partition(f"{self.description} page {page}", pd.DataFrame(rows, columns=columns))
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(
                f"Cannot read {named}: {_reason(exc)}; check the table or query in {self._setting}"
            ) from exc
        finally:
            engine.dispose()


def _shown_url(url: str) -> str:
    """A database URL as messages show it: scheme, user, host, port and database; no password, no query."""
    head = url.partition("?")[0]
    scheme, sep, rest = head.partition("://")
    if not sep:
        return head
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}{at}{hostport}{slash}{path}"


def _reason(exc: Exception) -> str:
    """The first line of a database error, as the driver put it (without SQLAlchemy's wrapping)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quote_column(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise UsageError(f"data.time {name!r} is not a plain column name; use letters, digits and '_'")
    return f'"{name}"'


def open_source(source: str, root: Path, *, named: str | None = None) -> Source:
    """The source a ``data.source`` string names; ``named``: how messages about files and Spark
    paths name it (default ``data.source 'SOURCE'``; e.g. ``--data '...'`` for a command's option)."""
    lowered = source.lower()
    if lowered.startswith(("postgresql:", "postgresql+", "postgres:", "sqlite:", "mysql")):
        # Messages name the setting and show the URL without its password, not ``named`` (the URL as given).
        return SqlSource(source, setting=named.split(" ", 1)[0] if named else "data.source")
    if lowered.startswith("spark:"):
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("pyspark", "spark", f"Reading the Spark source {source!r}") from exc
        from modelyard.data._spark_source import SparkSource

        return SparkSource(source, root, named=named)
    return FileSource(source, root, named=named)
