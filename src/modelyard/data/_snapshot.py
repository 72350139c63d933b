"""Snapshots: production rows run through the production feature code, frozen and content-hashed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from modelyard._exceptions import DataError, NotFoundError, UsageError
from modelyard.data._features import check_unique_columns, load_feature_code
from modelyard.data._snapshot_sink import SnapshotSink
from modelyard.data._sources import Source, TimeRange, open_source, stored_type
from modelyard.store import Store, utcnow
from modelyard.store._schema_snapshots import snapshots

if TYPE_CHECKING:
    from modelyard._yard import Yard
    from modelyard.spec import UseCase

__all__ = [
    "Snapshot",
    "build_snapshot",
    "get_snapshot",
    "is_snapshot_ref",
    "list_snapshots",
    "read_snapshot",
    "split_by_time",
    "unreadable_snapshot",
]

ProgressCallback = Callable[[str, int, int], None]
"""Told ``(partition name, partitions done, partitions in all or 0 when unknown)`` after each one."""


@dataclass(frozen=True)
class Snapshot:
    """An immutable extraction: its id is the sha256 of its content (columns, types and values)."""

    id: str
    use_case: str
    source: str
    time_column: str | None
    range_start: datetime | None
    range_end: datetime | None
    row_count: int
    columns: dict[str, str]
    feature_code: str
    feature_code_sha256: str
    path: str
    created_at: datetime

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def __repr__(self) -> str:
        span = " to ".join(t.date().isoformat() if t else "…" for t in (self.range_start, self.range_end))
        return f"<Snapshot {self.short_id} of {self.use_case}: {self.row_count:,} rows, {span}>"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("range_start", "range_end", "created_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _aware(value: datetime | date | str | None, name: str) -> datetime | None:
    """``value`` as an aware UTC datetime: a naive one is read as UTC, a date as its midnight, and an
    ISO 8601 string as either (what a notebook user types)."""
    if value is None:
        return None
    if value is pd.NaT:  # a datetime subclass with no value
        raise UsageError(
            f"The {name!r} parameter must be a datetime, a date or an ISO 8601 string such as "
            f"'2024-07-01'. Got NaT instead; pass None for an open range."
        )
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UsageError(
                f"The {name!r} parameter must be a datetime, a date or an ISO 8601 string such as "
                f"'2024-07-01'. Got {value!r} instead."
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    elif not isinstance(value, datetime):
        raise UsageError(
            f"The {name!r} parameter must be a datetime, a date or an ISO 8601 string such as "
            f"'2024-07-01'. Got {value!r} instead."
        )
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _kept_columns(use_case: UseCase) -> list[str]:
    data = use_case.data
    wanted = [data.entity_key, data.time, data.label, *data.extra_columns]
    out: list[str] = []
    for col in wanted:
        if col and col not in out and col not in use_case.input_names:
            out.append(col)
    return out


def build_snapshot(
    yard: Yard,
    use_case: str,
    *,
    start: datetime | date | str | None = None,
    end: datetime | date | str | None = None,
    source: Source | str | None = None,
    progress: ProgressCallback | None = None,
) -> Snapshot:
    """Extract ``use_case``'s rows in ``[start, end)``, run the feature code, write Parquet, record it.

    ``start`` and ``end`` are datetimes, dates or ISO 8601 strings; without a time zone, UTC. They
    need the spec's ``data.time``. ``source``: a :class:`Source`, or a string as ``data.source``
    takes it (default: the spec's ``data.source``).
    The same extraction gives the same id (the sha256 of the content) and is stored once; when the
    stored copy's data file is missing or damaged, the new build replaces it.
    Nothing is left behind when anything fails.
    """
    _check_yard(yard)
    if not isinstance(use_case, str):
        raise UsageError(f"The 'use_case' parameter must be a use-case name (str). Got {use_case!r} instead.")
    spec = yard.use_case(use_case)
    time_range = TimeRange(_aware(start, "start"), _aware(end, "end"))
    if spec.data.time is None and (time_range.start is not None or time_range.end is not None):
        raise UsageError(
            f"--from/--to (start/end) need data.time in the spec of {spec.name}, the column that dates "
            "each row; add data.time to the spec, or leave --from/--to out to snapshot every row"
        )
    src = _source(yard, spec, source)
    code = load_feature_code(spec.data.features)
    kept = _kept_columns(spec)
    folder = yard.settings.resolved_home() / "snapshots"
    _sweep_abandoned(folder)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    sink = SnapshotSink(tmp / "data.parquet")
    schema: pa.Schema | None = None
    rows = 0
    try:
        total = src.count_partitions()
        for done, part in enumerate(src.partitions(spec.data.time, time_range), start=1):
            if len(part.frame):
                table = _partition_table(spec, code, part.name, part.frame, kept)
                if schema is None:
                    schema = table.schema
                elif not table.schema.equals(schema, check_metadata=False):
                    table = _conform(table, schema, part.name)
                sink.add(table)
                rows += len(table)
            if progress is not None:
                progress(part.name, done, total)
        digest = sink.close()
        if rows == 0:
            raise DataError(
                f"No rows of {spec.name} in {time_range.describe()} on {spec.data.time or 'any time'} "
                f"in {src.description}; widen --from/--to or check the source"
            )
        assert schema is not None
        snapshot_id = digest
        final = folder / snapshot_id
        columns = {f.name: str(f.type) for f in schema}
        snap = Snapshot(
            id=snapshot_id,
            use_case=spec.name,
            source=src.description,
            time_column=spec.data.time,
            range_start=time_range.start,
            range_end=time_range.end,
            row_count=rows,
            columns=columns,
            feature_code=code.path,
            feature_code_sha256=code.sha256,
            path=str(final / "data.parquet"),
            created_at=utcnow(),
        )
        (tmp / "snapshot.json").write_text(json.dumps(snap.to_dict(), indent=2))
        if not final.exists():
            os.replace(tmp, final)
        elif not _intact(final / "data.parquet", rows):  # deleted or damaged since: repaired
            _replace_folder(tmp, final)
    finally:
        sink.abort()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _record(yard, snap, spec)


def _source(yard: Yard, spec: UseCase, source: object) -> Source:
    if source is None:
        return open_source(spec.data.source, yard.settings.root)
    if isinstance(source, str):
        return open_source(source, yard.settings.root, named=f"source {source!r}")
    if not callable(getattr(source, "partitions", None)):
        raise UsageError(
            "The 'source' parameter must be a Source (modelyard.data.open_source) or a source string such "
            f"as 'data/churn/*.parquet'. Got {source!r} instead."
        )
    return source  # type: ignore[return-value]


def _intact(path: Path, rows: int) -> bool:
    """Whether ``path`` is a Parquet file whose footer reads and counts ``rows`` rows."""
    try:
        return bool(pq.ParquetFile(path).metadata.num_rows == rows)
    except (OSError, pa.ArrowException):
        return False


def _replace_folder(new: Path, final: Path) -> None:
    """Put the folder ``new`` in the place of ``final``; the old one is removed. Another build
    repairing the same snapshot at once may win: its copy holds the same content."""
    old = final.with_name(f".tmp-{uuid.uuid4().hex}")  # swept as abandoned should this be killed
    with contextlib.suppress(FileNotFoundError):
        os.replace(final, old)
    try:
        os.replace(new, final)
    except OSError:
        if not final.exists():
            raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


ABANDONED_AFTER_SECONDS = 24 * 3600
"""A ``.tmp-`` folder untouched this long is a build that was killed (SIGKILL, a power cut): removed."""


def _sweep_abandoned(folder: Path) -> None:
    """Remove the temporary folders of builds that died without cleaning up (a failed or interrupted
    build removes its own); a build still running touches its folder far more often than this."""
    if not folder.is_dir():
        return
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for tmp in folder.glob(".tmp-*"):
        with contextlib.suppress(OSError):  # another build may be sweeping it too
            if tmp.stat().st_mtime < cutoff and all(p.stat().st_mtime < cutoff for p in tmp.iterdir()):
                shutil.rmtree(tmp)


def _partition_table(spec: UseCase, code: Any, name: str, raw: pd.DataFrame, kept: list[str]) -> pa.Table:
    for role, col in (("label", spec.data.label), ("time", spec.data.time)):
        if col and col not in raw.columns:
            raise DataError(
                f"Partition {name} has no column {col!r} (data.{role}); its columns are {list(raw.columns)[:20]}"
            )
    raw = raw.reset_index(drop=True)
    features = code.apply(raw, partition=f"partition {name}", key=spec.data.entity_key)
    check_unique_columns(features, code)
    absent = [c for c in spec.input_names if c not in features.columns]
    if absent:
        raise DataError(
            f"The feature code {code.path} gives no column {absent[0]!r} that the spec's inputs name "
            f"(missing: {absent}); add it to the function or remove it from inputs"
        )
    extra = [c for c in kept if c in raw.columns]
    out = features.copy(deep=False)
    for col in extra:
        out[col] = raw[col].array  # by position: FeatureCode.apply gives the rows in the input's order
    # Straight to Arrow, picking the columns there (selecting them in pandas copies); one thread,
    # as the other core is writing and hashing the previous partition.
    columns = [*spec.input_names, *extra]
    try:
        table = pa.Table.from_pandas(out, columns=columns, preserve_index=False, nthreads=1)
    except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _unstorable(out, columns, name, code, exc) from exc
    return _normalise(table)


def _unstorable(out: pd.DataFrame, columns: list[str], name: str, code: Any, exc: Exception) -> DataError:
    """Name the column of ``out`` that Arrow cannot store (values of mixed types, as an object column
    of numbers with one string), and the fix."""
    column, reason = None, str(exc)
    for col in columns:
        try:
            pa.array(out[col], from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            column, reason = col, str(err)
            break
    what = f"column {column!r}" if column is not None else "a column"
    kind = f" ({out[column].dtype})" if column is not None else ""
    return DataError(
        f"Partition {name}: {what}{kind} from the feature code {code.path} holds values of mixed types "
        f"that cannot be stored ({reason}); give the column one type in the feature code "
        "(e.g. pd.to_numeric(..., errors='coerce')) or fix the rows upstream"
    )


def _normalise(table: pa.Table) -> pa.Table:
    """One physical type per logical one (text is large_string, times are microseconds where that
    loses nothing), so the same values give the same snapshot whichever way pandas, a file or Spark
    happened to store them."""
    fields = []
    for f in table.schema:
        stored = stored_type(f.type)
        if stored != f.type and (not pa.types.is_timestamp(f.type) or _fits_microseconds(table[f.name], f.type)):
            f = pa.field(f.name, stored)
        fields.append(f)
    target = pa.schema(fields)
    return table if target.equals(table.schema) else table.cast(target)


def _fits_microseconds(column: pa.ChunkedArray, type_: pa.TimestampType) -> bool:
    """Whether ``column`` converts to microseconds without losing anything (always, from s and ms)."""
    if type_.unit in ("s", "ms"):
        return True
    try:
        column.cast(pa.timestamp("us", tz=type_.tz))  # safe cast: refuses to drop nanoseconds
    except pa.ArrowInvalid:
        return False
    return True


def _conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    for field in schema:
        if field.name not in table.column_names:
            raise DataError(f"Partition {name} lost column {field.name!r} after the feature code ran")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        changed = [f.name for f in schema if table.schema.field(f.name).type != f.type]
        raise DataError(
            f"Schema drift in partition {name}: column(s) {changed} have types "
            f"{[str(table.schema.field(c).type) for c in changed]} but earlier partitions gave "
            f"{[str(schema.field(c).type) for c in changed]} ({exc})"
        ) from exc


def _record(yard: Yard, snap: Snapshot, spec: UseCase) -> Snapshot:
    from modelyard.registry import spec_fingerprint

    with yard.store.writing() as conn:
        existing = conn.execute(sa.select(snapshots).where(snapshots.c.id == snap.id)).first()
        if existing is not None:
            if existing.path != snap.path:  # the yard was moved: point the record at the file built now
                conn.execute(snapshots.update().where(snapshots.c.id == snap.id).values(path=snap.path))
            return replace(Snapshot(**existing._mapping), path=snap.path)
        text, sha256 = spec_fingerprint(spec)
        Store.save_use_case(conn, spec.name, sha256, text, snap.created_at)
        conn.execute(snapshots.insert().values(**asdict(snap)))
    return snap


def list_snapshots(yard: Yard, use_case: str | None = None) -> list[Snapshot]:
    """Recorded snapshots, oldest first."""
    stmt = sa.select(snapshots).order_by(snapshots.c.created_at, snapshots.c.id)
    if use_case is not None:
        stmt = stmt.where(snapshots.c.use_case == use_case)
    with yard.store.reading() as conn:
        return [_located(yard, Snapshot(**row._mapping)) for row in conn.execute(stmt)]


def _located(yard: Yard, snap: Snapshot) -> Snapshot:
    """``snap`` with its data file where it is now: a record keeps the absolute path it was built at,
    so when the yard's folder was moved, the file is looked for under the current yard's home."""
    if Path(snap.path).exists():
        return snap
    here = yard.settings.resolved_home() / "snapshots" / snap.id / "data.parquet"
    return replace(snap, path=str(here)) if here.exists() else snap


def is_snapshot_ref(value: object) -> bool:
    """Whether ``value`` names a snapshot (hex characters of its id; :func:`get_snapshot` wants at
    least 6) rather than a file or glob."""
    text = str(value) if isinstance(value, str | Path) else ""
    if not text or any(c not in "0123456789abcdef" for c in text.lower()):
        return False
    return not Path(text).exists()


def _check_yard(yard: object) -> None:
    from modelyard._yard import Yard

    if not isinstance(yard, Yard):
        raise UsageError(f"The 'yard' parameter must be a Yard (modelyard.open_yard()). Got {yard!r} instead.")


def get_snapshot(yard: Yard, ref: str | Snapshot) -> Snapshot:
    """A snapshot by id or by a unique prefix of at least 6 characters (a :class:`Snapshot` is
    looked up again by its id)."""
    _check_yard(yard)
    if isinstance(ref, Snapshot):
        ref = ref.id
    if not isinstance(ref, str):
        raise UsageError(f"The 'ref' parameter must be a snapshot id (str) or a Snapshot. Got {ref!r} instead.")
    ref = ref.strip().lower()
    if any(c not in "0123456789abcdef" for c in ref):
        raise UsageError(
            f"Snapshot id {ref!r} is not a snapshot id: ids are hex digits (0-9, a-f); "
            "copy one from 'modelyard snapshot list'"
        )
    if len(ref) < 6:
        raise UsageError(f"Snapshot id {ref!r} is too short; give at least 6 characters of it")
    with yard.store.reading() as conn:
        rows = conn.execute(sa.select(snapshots).where(snapshots.c.id.like(f"{ref}%"))).all()
    if not rows:
        raise NotFoundError(f"No snapshot {ref!r}; list them with 'modelyard snapshot list'")
    if len(rows) > 1:
        raise UsageError(f"Snapshot id {ref!r} is ambiguous ({len(rows)} match); give more characters")
    return _located(yard, Snapshot(**rows[0]._mapping))


def read_snapshot(yard: Yard, ref: str | Snapshot) -> pd.DataFrame:
    """A snapshot's rows (model inputs plus label, time, key and extra columns)."""
    snap = get_snapshot(yard, ref)
    if not Path(snap.path).exists():
        raise NotFoundError(f"Snapshot {snap.short_id}'s data file {snap.path} is missing; rebuild the snapshot")
    try:
        return pd.read_parquet(snap.path)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable_snapshot(snap, exc) from None


def unreadable_snapshot(snap: Snapshot, exc: Exception) -> DataError:
    """The error for a snapshot whose data file exists but does not read (truncated, overwritten)."""
    bounds = "".join(
        f" {option} {_shown_bound(bound)}"
        for option, bound in (("--from", snap.range_start), ("--to", snap.range_end))
        if bound is not None
    )
    return DataError(
        f"Snapshot {snap.short_id}'s data file {snap.path} cannot be read ({exc}); rebuild the snapshot: "
        f"modelyard snapshot {snap.use_case}{bounds}"
    )


def _shown_bound(bound: datetime) -> str:
    return bound.date().isoformat() if bound.time() == datetime.min.time() else bound.isoformat()


def split_by_time(
    frame: pd.DataFrame, time_column: str, *, at: datetime | str | None = None, fraction: float = 0.8
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before ``at`` and from ``at`` on; without ``at``, the time that leaves ``fraction`` before.

    ``at`` without a time zone is read in the column's time zone (UTC for an aware column)."""
    if not isinstance(frame, pd.DataFrame):
        hint = "; read a snapshot's rows with read_snapshot(yard, snapshot)" if isinstance(frame, Snapshot) else ""
        raise UsageError(f"The 'frame' parameter must be a pandas DataFrame. Got {type(frame).__name__} instead{hint}.")
    if not isinstance(time_column, str) or time_column not in frame.columns:
        raise DataError(f"No time column {time_column!r} to split on; columns are {list(frame.columns)[:20]}")
    column = frame[time_column]
    numbers = ("integer", "floating", "mixed-integer-float", "decimal", "boolean")
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.infer_dtype(column, skipna=True) in numbers:
        raise DataError(
            f"Column {time_column!r} holds numbers ({column.dtype}), not times; name the time column to split "
            "on, or convert it first (e.g. pd.to_datetime(frame[col], unit='s') for seconds since 1970)"
        )
    try:
        with warnings.catch_warnings():  # text that is not times: the error below says so, once
            warnings.simplefilter("ignore", UserWarning)
            times = pd.to_datetime(frame[time_column])
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"Column {time_column!r} does not hold times ({exc}); name the time column to split on"
        ) from None
    if len(times) == 0:
        raise DataError("The frame has no rows to split")
    missing = int(times.isna().sum())
    if missing:
        raise DataError(
            f"Column {time_column!r} has no time on {missing:,} of {len(times):,} rows (null or NaT), which "
            f"belong to neither part; drop or fill them first, e.g. frame.dropna(subset=[{time_column!r}])"
        )
    if at is None:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0.0 < fraction < 1.0:
            raise UsageError(f"The 'fraction' parameter must be in (0, 1). Got {fraction!r} instead.")
        cut = times.sort_values().iloc[int(len(times) * fraction)]
    else:
        number = isinstance(at, int | float | np.number) and not isinstance(at, np.datetime64)
        try:
            cut = None if number else pd.Timestamp(at)
        except (ValueError, TypeError):
            cut = None
        if cut is None or cut is pd.NaT:
            raise UsageError(
                f"The 'at' parameter must be a datetime or an ISO 8601 string such as '2024-07-01'. Got {at!r} instead."
            ) from None
        if times.dt.tz is not None:
            cut = cut.tz_localize(times.dt.tz) if cut.tzinfo is None else cut.tz_convert(times.dt.tz)
        elif cut.tzinfo is not None:
            cut = cut.tz_convert(UTC).tz_localize(None)
    before = (times < cut).to_numpy()
    if before.all() or not before.any():
        side = "after" if before.all() else "before"
        raise DataError(
            f"No row of {time_column!r} falls {side} {cut}: its times run from {times.min()} to {times.max()}; "
            "choose 'at' inside that span"
        )
    return frame[before], frame[~before]
