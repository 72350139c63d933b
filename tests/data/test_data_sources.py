"""Sources read the same rows whatever the session, skip empty partitions, and say what to fix."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from modelyard import DataError, UsageError
from modelyard.data import FileSource, SqlSource, TimeRange, open_source
from modelyard.data._sources import _shown_url

JANUARY_1ST = TimeRange(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


def _rows(frames: Iterator[pd.DataFrame] | list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(list(frames), ignore_index=True)


# 1. A PostgreSQL source reads the same rows in any session time zone.


@pytest.fixture
def events(pg_url: str) -> str:
    """A table of times around 2024-01-01 UTC, as `timestamp` (naive, UTC) and as `timestamptz`."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (id int, at timestamp, at_tz timestamptz)"))
        conn.execute(
            sa.text(
                "INSERT INTO events VALUES "
                "(1, '2023-12-31 20:00', '2023-12-31 20:00+00'), (2, '2024-01-01 00:00', '2024-01-01 00:00+00'), "
                "(3, '2024-01-01 08:00', '2024-01-01 08:00+00'), (4, '2024-01-01 23:30', '2024-01-01 23:30+00'), "
                "(5, '2024-01-02 03:00', '2024-01-02 03:00+00')"
            )
        )
    engine.dispose()
    return pg_url


@pytest.mark.postgres
@pytest.mark.parametrize("column", ["at", "at_tz"])
def test_a_postgresql_source_reads_the_same_rows_in_any_session_time_zone(events: str, column: str) -> None:
    tokyo = f"{events}%20-c%20TimeZone%3DAsia/Tokyo"
    engine = sa.create_engine(tokyo)
    with engine.connect() as conn:  # the session is in Tokyo unless the source pins it
        assert conn.execute(sa.text("SHOW TimeZone")).scalar() == "Asia/Tokyo"
    engine.dispose()
    read = {
        url: _rows(p.frame for p in SqlSource(f"{url}&table=events").partitions(column, JANUARY_1ST))
        for url in (events, tokyo)
    }
    utc, in_tokyo = read.values()
    assert utc["id"].tolist() == [2, 3, 4]
    pd.testing.assert_frame_equal(in_tokyo, utc)


# 2. A CSV partition with a header alone is a month with no rows.


@pytest.fixture
def csv_folder(tmp_path: Path, raw_churn: pd.DataFrame) -> Path:
    folder = tmp_path / "data" / "churn"
    folder.mkdir(parents=True)
    months = raw_churn[raw_churn.signup_date >= "2024-01-01"].groupby(raw_churn.signup_date.dt.strftime("%Y-%m"))
    for month, rows in months:
        if month in ("2024-01", "2024-04"):
            rows.to_csv(folder / f"{month}.csv", index=False)
    header = ",".join(raw_churn.columns)
    (folder / "2023-12.csv").write_text(header + "\n")  # first, so no partition with types is read before it
    (folder / "2024-02.csv").write_text(header + "\n")
    (folder / "2024-03.csv").write_text(header)  # no final newline: pyarrow takes it for an empty file
    return tmp_path


def test_a_csv_partition_with_a_header_alone_has_no_rows(csv_folder: Path, raw_churn: pd.DataFrame) -> None:
    source = FileSource("data/churn/*.csv", csv_folder)
    parts = list(source.partitions("signup_date", TimeRange(datetime(2024, 1, 1, tzinfo=UTC))))
    assert [(p.name, len(p.frame)) for p in parts][:4] == [
        ("data/churn/2023-12.csv", 0),
        ("data/churn/2024-01.csv", int((raw_churn.signup_date.dt.strftime("%Y-%m") == "2024-01").sum())),
        ("data/churn/2024-02.csv", 0),
        ("data/churn/2024-03.csv", 0),
    ]
    assert list(parts[2].frame.columns) == list(raw_churn.columns)
    rows = _rows(p.frame for p in parts)
    expected = raw_churn[raw_churn.signup_date.dt.strftime("%Y-%m").isin(["2024-01", "2024-04"])]
    assert sorted(rows.customer_id) == sorted(expected.customer_id)


def test_a_time_column_empty_on_every_row_names_the_partition(csv_folder: Path) -> None:
    part = csv_folder / "data" / "churn" / "2024-04.csv"
    frame = pd.read_csv(part)
    frame["signup_date"] = None
    frame.to_csv(part, index=False)
    with pytest.raises(
        DataError,
        match=r"^The time column 'signup_date' \(data.time\) is empty on every row of partition "
        r"data/churn/2024-04.csv; fill it upstream or remove the partition$",
    ):
        list(FileSource("data/churn/*.csv", csv_folder).partitions("signup_date", JANUARY_1ST))


def test_a_time_column_of_another_type_names_the_partition(tmp_path: Path) -> None:
    pd.DataFrame({"at": ["soon", "later"]}).to_parquet(tmp_path / "words.parquet")
    with pytest.raises(DataError, match=r"^The time column 'at' \(data.time\) is large_string in partition words"):
        list(FileSource("*.parquet", tmp_path).partitions("at", JANUARY_1ST))


# 3. A folder is not a source: a glob of its files is.


@pytest.mark.parametrize(
    ("files", "holds", "glob"),
    [
        (["a.parquet", "b.parquet", "notes.txt"], ".parquet, .txt files", "data/churn/*.parquet"),
        (["a.csv", "b.csv", "c.parquet"], ".csv, .parquet files", "data/churn/*.csv"),
        (["README"], "(no extension) files", "data/churn/*.parquet"),
        ([], "no files", "data/churn/*.parquet"),
    ],
)
def test_a_folder_as_the_source_suggests_a_glob(tmp_path: Path, files: list[str], holds: str, glob: str) -> None:
    folder = tmp_path / "data" / "churn"
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_bytes(b"")
    for given in ("data/churn", "data/churn/"):
        with pytest.raises(DataError) as caught:
            open_source(given, tmp_path)
        assert str(caught.value) == (
            f"data.source {given!r} is a folder (it holds {holds}); name its files with a glob, e.g. '{glob}'"
        )


def test_a_glob_matching_folders_or_other_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "data" / "churn").mkdir(parents=True)
    (tmp_path / "data" / "notes").write_text("")
    with pytest.raises(DataError, match=r"^--data 'data/\*' matches folders \(data/churn\); match their files .*"):
        open_source("data/*", tmp_path, named="--data 'data/*'")
    (tmp_path / "data" / "churn").rmdir()
    with pytest.raises(DataError, match=r"matches files of kinds \(no extension\); use .parquet or .csv files$"):
        open_source("data/*", tmp_path)


# 4. Ranges show their times where they are not midnight, in UTC.

PLUS_5 = timezone(timedelta(hours=5))


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC), "[2024-01-01, 2024-07-01)"),
        (datetime(2024, 1, 1), None, "[2024-01-01, the end)"),
        (None, None, "[the beginning, the end)"),
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 5, tzinfo=UTC), "[2024-01-01, 2024-01-01 05:00 UTC)"),
        (datetime(2024, 1, 1, 5, 0, 30), None, "[2024-01-01 05:00:30 UTC, the end)"),
        (None, datetime(2024, 1, 1, 0, 0, 0, 1500, tzinfo=UTC), "[the beginning, 2024-01-01 00:00:00.001500 UTC)"),
        (datetime(2024, 1, 1, tzinfo=PLUS_5), None, "[2023-12-31 19:00 UTC, the end)"),
        (datetime(2024, 1, 1, 5, tzinfo=PLUS_5), None, "[2024-01-01, the end)"),
    ],
)
def test_a_range_shows_the_times_that_are_not_midnight_in_utc(
    start: datetime | None, end: datetime | None, shown: str
) -> None:
    assert TimeRange(start, end).describe() == shown


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2024, 1, 1), datetime(2023, 1, 1), "--from 2024-01-01 is not before --to 2023-01-01"),
        (
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 1, tzinfo=PLUS_5),
            "--from 2024-01-01 is not before --to 2023-12-31 19:00 UTC",
        ),
        (
            datetime(2024, 1, 1, 5),
            datetime(2024, 1, 1, 5, tzinfo=UTC),
            "--from 2024-01-01 05:00 UTC is not before --to 2024-01-01 05:00 UTC",
        ),
    ],
)
def test_an_empty_range_shows_its_times(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        TimeRange(start, end)
    assert str(caught.value) == f"The time range is empty: {message}; swap them or widen the range"


def test_a_range_within_a_day_is_not_empty() -> None:
    assert TimeRange(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 1, tzinfo=UTC)).start is not None


# 5. SQL source errors name the setting and show the URL as it is safe to print.


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.postgres
def test_a_database_that_does_not_answer_names_the_url_and_the_setting(pg_url: str) -> None:
    port = _closed_port()
    url = sa.engine.make_url(pg_url).set(port=port, password="s3cret").render_as_string(hide_password=False)
    assert "s3cret" in url
    source = SqlSource(f"{url}&table=customers")
    assert source.description == f"postgresql+psycopg://postgres@127.0.0.1:{port}/test table customers"
    with pytest.raises(DataError) as caught:
        list(source.partitions("signup_date", JANUARY_1ST))
    message = str(caught.value)
    assert message.startswith(
        f"Cannot connect to data.source postgresql+psycopg://postgres@127.0.0.1:{port}/test table customers: "
    )
    assert f"port {port} failed: Connection refused" in message
    assert message.endswith("; check the host, port, user and database in data.source, and that the server is running")
    assert "s3cret" not in message


@pytest.mark.postgres
def test_a_missing_table_names_the_table_and_the_setting(pg_url: str) -> None:
    shown = _shown_url(pg_url)
    assert "@" not in shown or ":" not in shown.split("://", 1)[1].split("@", 1)[0]  # no password
    with pytest.raises(
        DataError,
        match=rf"^Cannot read --data {re.escape(shown)} table nowhere: "
        r'relation "nowhere" does not exist; check the table or query in --data$',
    ):
        list(open_source(f"{pg_url}&table=nowhere", Path("."), named="--data '...'").partitions(None, TimeRange()))


@pytest.mark.parametrize("table", ["probe-data;drop", "a b", 'x"y', "public.probe-data"])
def test_a_table_name_that_is_not_plain_is_named_as_a_table(table: str) -> None:
    with pytest.raises(UsageError) as caught:
        SqlSource(f"postgresql://me:s3cret@db.example:6543/sales?table={table}")
    assert str(caught.value) == (
        f"data.source ?table={table!r} is not a plain table name; use letters, digits and '_' "
        "(schema.table for another schema), or read it with ?query=SELECT ... quoting the name yourself"
    )


def test_a_url_naming_no_table_hides_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        SqlSource("postgresql://me:s3cret@db.example:6543/sales?sslmode=require")
    assert str(caught.value).startswith(
        "data.source postgresql://me@db.example:6543/sales must name exactly one of ?table=NAME or ?query="
    )


def test_a_time_column_that_is_not_plain_is_named_as_data_time(tmp_path: Path) -> None:
    source = SqlSource(f"sqlite:///{tmp_path / 'x.db'}?table=t")
    with pytest.raises(UsageError, match=r"^data.time 'signup date' is not a plain column name"):
        list(source.partitions("signup date", JANUARY_1ST))


def test_a_sqlite_source_keeps_rows_at_the_start_of_the_range(tmp_path: Path) -> None:
    """SQLite keeps times as text: a row at exactly the start must not sort before the bound."""
    import sqlite3

    path = tmp_path / "events.db"
    times = pd.to_datetime(["2023-12-31 20:00", "2024-01-01 00:00", "2024-01-01 08:00", "2024-01-02 00:00"])
    with sqlite3.connect(path) as conn:
        pd.DataFrame({"id": [1, 2, 3, 4], "at": times}).to_sql("events", conn, index=False)
    conn.close()
    rows = _rows(p.frame for p in SqlSource(f"sqlite:///{path}?table=events").partitions("at", JANUARY_1ST))
    assert rows["id"].tolist() == [2, 3]


def test_a_parquet_dataset_folder_is_read_whole_and_nested_files_get_a_recursive_glob(tmp_path: Path) -> None:
    frame = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-02"], "x": [1, 2, 3]})
    frame.to_parquet(tmp_path / "events.parquet", partition_cols=["month"])  # a folder, as pandas and Spark write
    parts = list(open_source("events.parquet", tmp_path).partitions(None, TimeRange()))
    assert sorted(_rows(p.frame for p in parts)["x"]) == [1, 2, 3]
    frame.to_parquet(tmp_path / "events", partition_cols=["month"])  # the same, in a folder without the suffix
    with pytest.raises(DataError) as caught:
        open_source("events", tmp_path)
    assert str(caught.value) == (
        "data.source 'events' is a folder (its subfolders hold .parquet files); "
        "name its files with a glob, e.g. 'events/**/*.parquet'"
    )
    nested = list(open_source("events/**/*.parquet", tmp_path).partitions(None, TimeRange()))
    assert len(nested) == 2 and sum(len(p.frame) for p in nested) == 3


# 8. A date column (as CSV files give) and a timestamp column select the same rows for the same bounds.


@pytest.mark.parametrize(
    ("start", "end", "ids"),
    [
        (datetime(2024, 1, 10, 12), None, [3, 4, 5, 6]),
        (datetime(2024, 1, 10), datetime(2024, 1, 12, 0, 1), [2, 3, 4]),
        (None, datetime(2024, 1, 11, 23, 59, tzinfo=UTC), [0, 1, 2, 3]),
        # 2024-01-09 23:00 and 2024-01-11 20:00 in UTC
        (
            datetime(2024, 1, 10, 1, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 1, 12, 1, tzinfo=PLUS_5),
            [2, 3],
        ),
    ],
)
def test_a_date_column_selects_the_rows_a_timestamp_column_does(
    tmp_path: Path, start: datetime | None, end: datetime | None, ids: list[int]
) -> None:
    """A row dated D is at D 00:00 UTC: a bound with a time of day in UTC takes the next day."""
    import pyarrow.csv as pacsv

    days = pd.date_range("2024-01-08", "2024-01-14", freq="D")
    frame = pd.DataFrame({"id": range(len(days)), "day": days})
    frame.to_parquet(tmp_path / "stamps.parquet", index=False)
    frame.to_csv(tmp_path / "dates.csv", index=False)
    assert str(pacsv.read_csv(tmp_path / "dates.csv").schema.field("day").type) == "date32[day]"
    for name in ("stamps.parquet", "dates.csv"):
        partitions = FileSource(name, tmp_path).partitions("day", TimeRange(start, end))
        assert _rows(p.frame for p in partitions)["id"].tolist() == ids, name
