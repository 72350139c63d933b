from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelyard import DataError, NotFoundError, UsageError, Yard
from modelyard.data import (
    SqlSource,
    TimeRange,
    build_snapshot,
    get_snapshot,
    list_snapshots,
    read_snapshot,
    split_by_time,
)
from modelyard.demo.features import churn_features


def test_a_snapshot_is_the_feature_code_run_on_the_source(yard: Yard, data_root: Path, raw_churn) -> None:
    seen: list[tuple[str, int, int]] = []
    snap = build_snapshot(
        yard,
        "churn",
        start=datetime(2024, 1, 1),
        end=datetime(2024, 7, 1),
        progress=lambda name, done, total: seen.append((name, done, total)),
    )
    frame = read_snapshot(yard, snap)
    expected_raw = raw_churn[(raw_churn.signup_date >= "2024-01-01") & (raw_churn.signup_date < "2024-07-01")]
    assert snap.row_count == len(frame) == len(expected_raw)
    expected = churn_features(expected_raw.reset_index(drop=True))
    pd.testing.assert_frame_equal(
        frame[list(expected.columns)].reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    assert {"customer_id", "signup_date", "churned"} <= set(frame.columns)
    assert snap.feature_code == "modelyard.demo.features:churn_features" and len(snap.feature_code_sha256) == 64
    assert seen[-1][1] == seen[-1][2] == 24  # every monthly partition of 2023-2024 was read, with progress


def test_the_same_extraction_gives_the_same_id_and_is_stored_once(yard: Yard, data_root: Path) -> None:
    a = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    b = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    c = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
    assert a.id == b.id != c.id
    assert [s.id for s in list_snapshots(yard, "churn")] == [a.id, c.id]
    assert get_snapshot(yard, a.id[:8]) == a


def test_split_by_time(yard: Yard, data_root: Path) -> None:
    frame = read_snapshot(yard, build_snapshot(yard, "churn"))
    before, after = split_by_time(frame, "signup_date", at="2024-07-01")
    assert len(before) + len(after) == len(frame)
    assert before.signup_date.max() < pd.Timestamp("2024-07-01") <= after.signup_date.min()
    early, _ = split_by_time(frame, "signup_date", fraction=0.75)
    assert abs(len(early) / len(frame) - 0.75) < 0.02


def test_dates_and_iso_strings_give_the_same_snapshot_as_datetimes(yard: Yard, data_root: Path) -> None:
    by_datetime = build_snapshot(yard, "churn", start=datetime(2024, 1, 1), end=datetime(2024, 7, 1))
    by_text = build_snapshot(yard, "churn", start="2024-01-01", end="2024-07-01T00:00:00+00:00")
    by_date = build_snapshot(yard, "churn", start=date(2024, 1, 1), end=date(2024, 7, 1))
    assert by_datetime.id == by_text.id == by_date.id
    with pytest.raises(UsageError, match=r"The 'start' parameter must be a datetime, .* Got 'last spring' instead\."):
        build_snapshot(yard, "churn", start="last spring")
    with pytest.raises(UsageError, match=r"The 'end' parameter must be .* Got 20240701 instead\."):
        build_snapshot(yard, "churn", end=20240701)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'yard' parameter must be a Yard .* Got '/some/path' instead\."):
        build_snapshot("/some/path", "churn")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'use_case' parameter must be a use-case name \(str\)\. Got None"):
        build_snapshot(yard, None)  # type: ignore[arg-type]


def test_a_snapshot_object_is_taken_where_its_id_is(yard: Yard, data_root: Path) -> None:
    snap = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
    assert get_snapshot(yard, snap) == snap
    with pytest.raises(UsageError, match=r"The 'ref' parameter must be a snapshot id \(str\) or a Snapshot\. Got 42"):
        read_snapshot(yard, 42)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"must be a pandas DataFrame\. Got Snapshot instead; read a snapshot's rows"):
        split_by_time(snap, "signup_date")  # type: ignore[arg-type]


def test_split_by_time_refuses_what_cannot_be_split(yard: Yard, data_root: Path) -> None:
    frame = read_snapshot(yard, build_snapshot(yard, "churn", start=datetime(2024, 6, 1)))
    with pytest.raises(DataError, match=r"No row of 'signup_date' falls after 2099-01-01.*choose 'at' inside"):
        split_by_time(frame, "signup_date", at="2099-01-01")
    with pytest.raises(UsageError, match=r"The 'at' parameter must be a datetime .* Got 'yesterday' instead\."):
        split_by_time(frame, "signup_date", at="yesterday")
    with pytest.raises(UsageError, match=r"The 'fraction' parameter must be in \(0, 1\)\. Got '0.8' instead\."):
        split_by_time(frame, "signup_date", fraction="0.8")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"Column 'contract' does not hold times"):
        split_by_time(frame, "contract")
    # an aware cut-off on a naive column is compared in UTC, not refused
    before, after = split_by_time(frame, "signup_date", at="2024-09-01T02:00:00+02:00")
    assert before.signup_date.max() < pd.Timestamp("2024-09-01") <= after.signup_date.min()


def _leftovers(yard: Yard) -> list[Path]:
    folder = yard.settings.resolved_home() / "snapshots"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_missing_source_names_the_glob(yard: Yard) -> None:
    with pytest.raises(DataError, match=r"data.source 'data/churn/\*.parquet' matches no files"):
        build_snapshot(yard, "churn")


def test_an_empty_range_names_the_range(yard: Yard, data_root: Path) -> None:
    with pytest.raises(DataError, match=r"No rows of churn in \[2030-01-01, the end\)"):
        build_snapshot(yard, "churn", start=datetime(2030, 1, 1))
    with pytest.raises(UsageError, match="is not before"):
        build_snapshot(yard, "churn", start=datetime(2024, 1, 1), end=datetime(2023, 1, 1))
    assert _leftovers(yard) == [] and list_snapshots(yard) == []


def test_schema_drift_names_the_partition_and_column(yard: Yard, data_root: Path) -> None:
    part = data_root / "data" / "churn" / "2024-03.parquet"
    frame = pd.read_parquet(part)
    frame["tenure"] = frame["tenure"].astype(str)
    frame.to_parquet(part, index=False)
    with pytest.raises(
        DataError,
        match=r"Schema drift: column 'tenure' is large_string in partition data/churn/2024-03.parquet but int64",
    ):
        build_snapshot(yard, "churn")
    frame.drop(columns=["tenure"]).to_parquet(part, index=False)
    with pytest.raises(DataError, match=r"partition data/churn/2024-03.parquet has no column 'tenure'"):
        build_snapshot(yard, "churn")
    assert [p for p in _leftovers(yard) if not p.name.startswith(".")] == [] and list_snapshots(yard) == []
    assert not any(p.name.startswith(".tmp") for p in _leftovers(yard))


def _stored_another_way(field: pa.Field) -> pa.Field:
    if pa.types.is_large_string(field.type):
        return pa.field(field.name, pa.string())
    if pa.types.is_string(field.type):
        return pa.field(field.name, pa.large_string())
    if pa.types.is_timestamp(field.type) and field.type.unit == "ms":
        return pa.field(field.name, pa.timestamp("us", tz=field.type.tz))
    return field


def test_text_and_times_stored_another_way_are_not_drift(yard: Yard, data_root: Path) -> None:
    """One partition rewritten with text as string rather than large_string and times in µs rather
    than ms: the same values, so the same snapshot as before."""
    before = build_snapshot(yard, "churn")
    part = data_root / "data" / "churn" / "2024-03.parquet"
    table = pq.read_table(part)
    pq.write_table(table.cast(pa.schema([_stored_another_way(f) for f in table.schema])), part)
    assert pq.read_schema(part) != table.schema
    assert build_snapshot(yard, "churn").id == before.id


def test_a_failing_feature_function_names_the_first_bad_row(yard: Yard, data_root: Path) -> None:
    part = data_root / "data" / "churn" / "2024-02.parquet"
    frame = pd.read_parquet(part)
    frame["tenure"] = frame["tenure"].astype(object)
    frame.loc[5, "tenure"] = "twelve"
    frame.loc[9, "tenure"] = "ten"
    frame["tenure"] = frame["tenure"].astype(str)
    for other in sorted((data_root / "data" / "churn").glob("*.parquet")):
        f = pd.read_parquet(other)
        f["tenure"] = f["tenure"].astype(str)
        f.to_parquet(other, index=False)
    frame.to_parquet(part, index=False)
    bad_id = frame.loc[5, "customer_id"]
    with pytest.raises(
        DataError,
        match=rf"failed on partition data/churn/2024-02.parquet, row 5 \(customer_id='{bad_id}'\): ValueError",
    ):
        build_snapshot(yard, "churn")
    assert list_snapshots(yard) == [] and not any(p.name.startswith(".tmp") for p in _leftovers(yard))


def test_an_unknown_snapshot_id(yard: Yard) -> None:
    with pytest.raises(NotFoundError, match="No snapshot 'abcdef12'"):
        get_snapshot(yard, "abcdef12")
    with pytest.raises(UsageError, match="too short"):
        get_snapshot(yard, "ab")


@pytest.mark.postgres
def test_a_postgresql_table_is_a_source(yard: Yard, data_root: Path, raw_churn, pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    raw_churn[raw_churn.signup_date >= "2024-01-01"].to_sql("customers", engine, index=False)
    engine.dispose()
    source = SqlSource(f"{pg_url}&table=customers", page_rows=500)
    snap = build_snapshot(yard, "churn", start=datetime(2024, 1, 1), end=datetime(2024, 7, 1), source=source)
    files = build_snapshot(yard, "churn", start=datetime(2024, 1, 1), end=datetime(2024, 7, 1))
    db, fs = read_snapshot(yard, snap), read_snapshot(yard, files)
    assert snap.row_count == files.row_count
    np.testing.assert_array_equal(np.sort(db["customer_id"].to_numpy()), np.sort(fs["customer_id"].to_numpy()))


def test_the_id_depends_on_the_rows_not_on_how_the_source_splits_them(
    yard: Yard, data_root: Path, raw_churn, tmp_path: Path
) -> None:
    monthly = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    # The same rows, landed as one file per quarter instead of one per month.
    folder = data_root / "data" / "churn"
    frame = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))], ignore_index=True)
    for p in folder.glob("*.parquet"):
        p.unlink()
    for quarter, part in frame.groupby(frame["signup_date"].dt.to_period("Q").astype(str), sort=True):
        part.to_parquet(folder / f"{quarter}.parquet", index=False)
    quarterly = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    assert quarterly.id == monthly.id
    frame.loc[frame.index[-1], "monthly_charges"] += 0.01  # one cent on one row is new content
    for p in folder.glob("*.parquet"):
        p.unlink()
    frame.to_parquet(folder / "all.parquet", index=False)
    assert build_snapshot(yard, "churn", start=datetime(2024, 1, 1)).id != monthly.id


def test_a_sqlite_file_is_a_source_read_as_it_is(raw_churn, tmp_path: Path) -> None:
    """An absolute path keeps its four slashes, the file is read and left as it was (no WAL switch),
    and a missing file is an error rather than a new empty database."""
    import sqlite3

    path = tmp_path / "sales.db"
    recent = raw_churn[raw_churn.signup_date >= "2024-01-01"]
    with sqlite3.connect(path) as conn:
        recent.to_sql("customers", conn, index=False)
    conn.close()
    before = path.read_bytes()
    source = SqlSource(f"sqlite:///{path}?table=customers", page_rows=500)
    rows = pd.concat([p.frame for p in source.partitions(None, TimeRange(None, None))], ignore_index=True)
    assert len(rows) == len(recent) and sorted(rows["customer_id"]) == sorted(recent["customer_id"])
    assert path.read_bytes() == before and not path.with_name("sales.db-wal").exists()

    missing = tmp_path / "nothing.db"
    with pytest.raises(DataError, match=r"no SQLite file at '.*nothing\.db'; check the path"):
        list(SqlSource(f"sqlite:///{missing}?table=customers").partitions(None, TimeRange(None, None)))
    assert not missing.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+nodriver://host/db?table=t", r"is not a database URL SQLAlchemy reads \(Can't load plugin"),
        ("mssql+pymssql://host/db?table=t", r"has no database driver 'pymssql' for it; install the driver"),
    ],
)
def test_a_database_url_without_its_driver_says_so(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        list(SqlSource(url).partitions(None, TimeRange(None, None)))


@pytest.mark.postgres
def test_the_short_postgres_scheme_reads_as_postgresql(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    pd.DataFrame({"a": [1, 2, 3]}).to_sql("numbers", engine, index=False)
    engine.dispose()
    short = "postgres://" + pg_url.split("://", 1)[1]
    frames = [p.frame for p in SqlSource(f"{short}&table=numbers").partitions(None, TimeRange(None, None))]
    assert pd.concat(frames)["a"].tolist() == [1, 2, 3]


def test_a_build_sweeps_the_folders_of_builds_that_were_killed(yard: Yard, data_root: Path) -> None:
    import os
    import time

    folder = yard.settings.resolved_home() / "snapshots"
    old, fresh = folder / ".tmp-killed-yesterday", folder / ".tmp-still-building"
    for tmp in (old, fresh):
        tmp.mkdir(parents=True)
        (tmp / "data.parquet").write_bytes(b"half a file")
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (old / "data.parquet", old):
        os.utime(path, (two_days_ago, two_days_ago))
    snap = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
    assert not old.exists() and fresh.exists()
    assert sorted(p.name for p in _leftovers(yard)) == sorted([".tmp-still-building", snap.id])


def test_a_notebook_reaches_snapshots_checks_and_evaluations_from_the_yard(
    yard: Yard, make_model, data_root: Path
) -> None:
    from datetime import date

    snap = yard.snapshot("churn", start=date(2024, 6, 1))
    assert yard.snapshots("churn") == [snap] and len(yard.read_snapshot(snap.id[:8])) == snap.row_count
    assert repr(snap).startswith(f"<Snapshot {snap.short_id} of churn: {snap.row_count:,} rows, 2024-06-01 to")
    mv = yard.register("churn", make_model(1.0), snapshot_id=snap)
    assert mv.snapshot_id == snap.id
    assert repr(mv).startswith("<ModelVersion churn/v1 candidate (sklearn) by tester, ")
    result = yard.check("churn", mv.version, data=snap.id, soak_seconds=0)
    frame = result.to_frame()
    assert list(frame.columns) == ["check", "status", "found", "measured", "budget", "fix"] and len(frame) > 5
    assert repr(result).startswith("<CheckResult churn/v1 of churn: ")
    assert yard.evaluations("churn") == []


def _spec(yard: Yard, old: str, new: str) -> None:
    """Edit one line of the churn spec."""
    path = yard.settings.resolved_usecases() / "churn.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _feature_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    """A module ``name`` with a function ``features`` that ends with ``return <body>`` on the demo's features."""
    folder = tmp_path / "feature_modules"
    folder.mkdir(exist_ok=True)
    source = (
        "from modelyard.demo.features import churn_features\n\n\n"
        f"def features(raw):\n    out = churn_features(raw)\n    return {body}\n"
    )
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return f"{name}:features"


DEMO_FEATURES = 'features: "modelyard.demo.features:churn_features"'


def test_feature_rows_in_another_order_keep_their_keys(
    yard: Yard, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feature code that reverses its rows (index kept) gives the snapshot of the demo's feature code:
    its rows are put back in the input's order before the key, time and label are copied."""
    expected = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    reversed_code = _feature_module(tmp_path, monkeypatch, "feat_reversed_rows", "out.iloc[::-1]")
    _spec(yard, DEMO_FEATURES, f'features: "{reversed_code}"')
    snap = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    assert snap.id == expected.id
    frame = read_snapshot(yard, snap).set_index("customer_id")
    raw = pd.concat([pd.read_parquet(p) for p in sorted((data_root / "data" / "churn").glob("2024-*.parquet"))])
    raw = raw.set_index("customer_id").loc[frame.index]
    assert (frame["tenure"] == raw["tenure"]).all() and (frame["churned"] == raw["churned"]).all()


def test_feature_rows_under_a_new_index_are_refused(
    yard: Yard, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _feature_module(
        tmp_path,
        monkeypatch,
        "feat_sorted_rows",
        "out.sort_values('tenure').reset_index(drop=True).set_axis(out.index + 5)",
    )
    _spec(yard, DEMO_FEATURES, f'features: "{code}"')
    with pytest.raises(DataError) as caught:
        build_snapshot(yard, "churn", start=datetime(2024, 12, 1))
    assert caught.value.message.startswith(
        f"The feature code {code} returned rows with another index than its input in partition "
        "data/churn/2024-12.parquet (e.g. "
    )
    assert caught.value.message.endswith(
        "keep the input's index (no reset_index or new index), so each row stays with its key"
    )
    assert list_snapshots(yard) == [] and not any(p.name.startswith(".tmp") for p in _leftovers(yard))


def test_a_feature_column_of_mixed_types_names_the_partition_and_column(
    yard: Yard, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _feature_module(
        tmp_path, monkeypatch, "feat_mixed_tenure", "out.assign(tenure=['x', *out['tenure'].iloc[1:]])"
    )
    _spec(yard, DEMO_FEATURES, f'features: "{code}"')
    with pytest.raises(DataError) as caught:
        build_snapshot(yard, "churn", start=datetime(2024, 12, 1))
    assert caught.value.message == (
        "Partition data/churn/2024-12.parquet: column 'tenure' (object) from the feature code "
        f"{code} holds values of mixed types that cannot be stored (Expected bytes, got a 'int' object); "
        "give the column one type in the feature code (e.g. pd.to_numeric(..., errors='coerce')) "
        "or fix the rows upstream"
    )
    assert list_snapshots(yard) == [] and not any(p.name.startswith(".tmp") for p in _leftovers(yard))


def test_a_range_needs_the_spec_time_column(yard: Yard, data_root: Path) -> None:
    _spec(yard, "  time: signup_date ", "  # no data.time ")
    message = (
        "--from/--to (start/end) need data.time in the spec of churn, the column that dates each row; "
        "add data.time to the spec, or leave --from/--to out to snapshot every row"
    )
    for bounds in ({"start": datetime(2024, 1, 1)}, {"end": "2024-06-01"}):
        with pytest.raises(UsageError) as caught:
            build_snapshot(yard, "churn", **bounds)
        assert caught.value.message == message
    assert list_snapshots(yard) == []
    snap = build_snapshot(yard, "churn")
    assert snap.time_column is None and snap.range_start is None and snap.range_end is None


def test_a_rebuild_repairs_a_deleted_or_damaged_data_file(yard: Yard, data_root: Path) -> None:
    snap = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
    path = Path(snap.path)
    good = path.read_bytes()
    for damage in (path.unlink, lambda: path.write_bytes(good[: len(good) // 2])):
        damage()
        again = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
        assert again.id == snap.id and path.read_bytes() == good
        assert len(read_snapshot(yard, again)) == snap.row_count
    assert sorted(p.name for p in _leftovers(yard)) == [snap.id]


def test_a_damaged_data_file_reads_as_a_data_error(yard: Yard, data_root: Path) -> None:
    snap = build_snapshot(yard, "churn", start=datetime(2024, 6, 1), end="2024-12-01T06:00")
    Path(snap.path).write_bytes(b"not parquet at all")
    with pytest.raises(DataError) as caught:
        read_snapshot(yard, snap)
    assert caught.value.message.startswith(f"Snapshot {snap.short_id}'s data file {snap.path} cannot be read (")
    assert caught.value.message.endswith(
        "); rebuild the snapshot: modelyard snapshot churn --from 2024-06-01 --to 2024-12-01T06:00:00+00:00"
    )


def test_a_moved_yard_finds_its_snapshots_and_a_rebuild_records_the_new_place(
    yard: Yard, data_root: Path, store_url: str, tmp_path: Path
) -> None:
    import shutil

    import sqlalchemy as sa

    from modelyard import Settings
    from modelyard.store._schema_snapshots import snapshots

    snap = build_snapshot(yard, "churn", start=datetime(2024, 6, 1))
    moved = tmp_path / "moved" / "project"
    shutil.move(data_root, moved)
    assert not Path(snap.path).exists()
    here = moved / ".modelyard" / "snapshots" / snap.id / "data.parquet"
    with Yard(Settings(root=moved, database_url=store_url, author="tester")) as there:
        assert get_snapshot(there, snap.short_id).path == str(here)
        assert [s.path for s in list_snapshots(there)] == [str(here)]
        assert len(read_snapshot(there, snap.id)) == snap.row_count
        with there.store.reading() as conn:
            assert conn.execute(sa.select(snapshots.c.path)).scalar_one() == snap.path  # still the old place
        assert build_snapshot(there, "churn", start=datetime(2024, 6, 1)).path == str(here)
        with there.store.reading() as conn:
            assert conn.execute(sa.select(snapshots.c.path)).scalar_one() == str(here)


def test_the_python_api_refuses_wrong_arguments_by_name(yard: Yard, data_root: Path) -> None:
    by_text = build_snapshot(yard, "churn", start=datetime(2024, 2, 1), source="data/churn/2024-0[1-3].parquet")
    whole = build_snapshot(yard, "churn", start=datetime(2024, 2, 1), end=datetime(2024, 4, 1))
    assert by_text.id == whole.id and by_text.source == "data/churn/2024-0[1-3].parquet"
    with pytest.raises(DataError, match=r"^source 'data/none/\*\.parquet' matches no files under "):
        build_snapshot(yard, "churn", source="data/none/*.parquet")
    with pytest.raises(UsageError) as caught:
        build_snapshot(yard, "churn", source=42)  # type: ignore[arg-type]
    assert caught.value.message == (
        "The 'source' parameter must be a Source (modelyard.data.open_source) or a source string such as "
        "'data/churn/*.parquet'. Got 42 instead."
    )
    with pytest.raises(UsageError) as caught:
        build_snapshot(yard, "churn", start=pd.NaT)
    assert caught.value.message == (
        "The 'start' parameter must be a datetime, a date or an ISO 8601 string such as '2024-07-01'. "
        "Got NaT instead; pass None for an open range."
    )
    for ref in (whole.id[:5] + "%", "2c5a7_", "zzzzzz"):
        with pytest.raises(UsageError) as caught:
            get_snapshot(yard, ref)
        assert caught.value.message == (
            f"Snapshot id {ref!r} is not a snapshot id: ids are hex digits (0-9, a-f); "
            "copy one from 'modelyard snapshot list'"
        )


def test_split_by_time_refuses_missing_times_numbers_and_numeric_cuts(yard: Yard, data_root: Path) -> None:
    frame = read_snapshot(yard, build_snapshot(yard, "churn", start=datetime(2024, 6, 1)))
    holed = frame.assign(signup_date=frame["signup_date"].where(frame.index % 100 != 7))
    with pytest.raises(DataError) as caught:
        split_by_time(holed, "signup_date", at="2024-09-01")
    missing = int(holed["signup_date"].isna().sum())
    assert missing > 0 and caught.value.message == (
        f"Column 'signup_date' has no time on {missing:,} of {len(frame):,} rows (null or NaT), which belong to "
        "neither part; drop or fill them first, e.g. frame.dropna(subset=['signup_date'])"
    )
    for column, dtype in (("tenure", "int64"), ("monthly_charges", "float64")):
        with pytest.raises(DataError) as caught:
            split_by_time(frame, column)
        assert caught.value.message == (
            f"Column {column!r} holds numbers ({dtype}), not times; name the time column to split on, or convert "
            "it first (e.g. pd.to_datetime(frame[col], unit='s') for seconds since 1970)"
        )
    with pytest.raises(DataError, match=r"^Column 'x' holds numbers \(object\), not times"):
        split_by_time(frame.assign(x=pd.Series(range(len(frame)), dtype=object)), "x")
    for at in (5, 1.5e18, True, np.int64(5), pd.NaT):
        with pytest.raises(UsageError) as caught:
            split_by_time(frame, "signup_date", at=at)  # type: ignore[arg-type]
        assert caught.value.message == (
            f"The 'at' parameter must be a datetime or an ISO 8601 string such as '2024-07-01'. Got {at!r} instead."
        )
    as_text = frame.assign(signup_date=frame["signup_date"].dt.strftime("%Y-%m-%d"))  # text that parses is fine
    assert [len(p) for p in split_by_time(as_text, "signup_date", at="2024-09-01")] == [
        len(p) for p in split_by_time(frame, "signup_date", at="2024-09-01")
    ]
