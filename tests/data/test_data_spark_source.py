"""A Spark table or path as ``data.source``: the same snapshot as the files it reads, clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from modelyard import DataError, Settings, UsageError, Yard
from modelyard.data import SparkSource, TimeRange, build_snapshot, open_source, read_snapshot
from modelyard.demo._data import write_monthly_partitions

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

START, END = datetime(2024, 1, 1), datetime(2024, 7, 1)


@pytest.fixture(scope="module")
def spark_yard(tmp_path_factory: pytest.TempPathFactory, raw_churn: pd.DataFrame) -> Iterator[Yard]:
    """The demo's monthly partitions of 2023-2024 twice: as the demo writes them (times in ms) under
    data/churn, and with times in µs, Spark's unit, under data/churn_us; one Spark session for all."""
    from modelyard.data import spark_session

    root = tmp_path_factory.mktemp("spark-source") / "project"
    (root / "usecases").mkdir(parents=True)
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    (root / "usecases" / "churn.yaml").write_text(spec, encoding="utf-8")
    recent = raw_churn[raw_churn.signup_date >= "2023-01-01"]
    write_monthly_partitions(recent, root / "data" / "churn")
    write_monthly_partitions(recent.astype({"signup_date": "datetime64[us]"}), root / "data" / "churn_us")
    spark = spark_session()
    spark.read.parquet(str(root / "data" / "churn_us")).createOrReplaceTempView("churn_customers")
    with Yard(Settings(root=root, database_url=None, author="spark-test")) as yard:
        yield yard
    spark.stop()


def snapshot(yard: Yard, source: str, start: datetime = START, end: datetime = END):  # type: ignore[no-untyped-def]
    return build_snapshot(yard, "churn", start=start, end=end, source=open_source(source, yard.settings.root))


def snapshot_folders(yard: Yard) -> list[Path]:
    snapshots = yard.settings.resolved_home() / "snapshots"
    return sorted(snapshots.iterdir()) if snapshots.exists() else []


Change = Callable[[pd.DataFrame], pd.DataFrame]


def parquet_months(yard: Yard, raw_churn: pd.DataFrame, name: str, month: str, change: Change) -> None:
    """The demo's monthly Parquet files of 2024 in data/NAME, ``month``'s rows passed through ``change``."""
    folder = yard.settings.root / "data" / name
    write_monthly_partitions(raw_churn[raw_churn.signup_date >= "2024-01-01"], folder)
    path = folder / f"{month}.parquet"
    change(pd.read_parquet(path)).to_parquet(path, index=False)


def csv_months(yard: Yard, name: str, march: Change = lambda f: f) -> None:
    """The demo's months January to June 2024 as CSV files in data/NAME, March's rows passed through ``march``."""
    data = yard.settings.root / "data"
    (data / name).mkdir()
    for month in sorted((data / "churn").glob("2024-0[1-6].parquet")):
        frame = pd.read_parquet(month)
        (march(frame) if month.stem == "2024-03" else frame).to_csv(data / name / f"{month.stem}.csv", index=False)


def test_a_spark_path_or_table_gives_the_snapshot_of_the_same_files(spark_yard: Yard) -> None:
    from_files = snapshot(spark_yard, "data/churn_us/*.parquet")
    from_path = snapshot(spark_yard, "spark:parquet:data/churn_us")
    from_table = snapshot(spark_yard, "spark:churn_customers")

    # The same content in the same order: one snapshot, recorded once (with the first source's name).
    assert from_path.id == from_table.id == from_files.id
    assert from_path.row_count == from_files.row_count > 0


def test_times_stored_in_ms_give_the_snapshot_of_spark_s_microseconds(spark_yard: Yard) -> None:
    """Spark keeps timestamps in µs; the snapshot stores times in µs too, so the units do not change the id."""
    from_files = snapshot(spark_yard, "data/churn/*.parquet")
    from_spark = snapshot(spark_yard, "spark:parquet:data/churn")

    assert from_files.id == from_spark.id
    assert from_files.columns["signup_date"] == "timestamp[us]"
    pd.testing.assert_frame_equal(read_snapshot(spark_yard, from_spark), read_snapshot(spark_yard, from_files))


def test_the_time_range_reaches_the_parquet_reader(spark_yard: Yard, capsys: pytest.CaptureFixture[str]) -> None:
    source = open_source("spark:parquet:data/churn_us", spark_yard.settings.root)
    assert isinstance(source, SparkSource) and source.count_partitions() == 0
    source.dataframe("signup_date", TimeRange(START, END)).explain()
    plan = capsys.readouterr().out
    assert "PushedFilters: [IsNotNull(signup_date), GreaterThanOrEqual(signup_date,2024-01-01T00:00)" in plan
    assert "LessThan(signup_date," in plan  # Spark shortens the line here


def test_missing_sources_and_columns_are_named(spark_yard: Yard) -> None:
    before = snapshot_folders(spark_yard)
    with pytest.raises(DataError, match=r"Spark cannot read the parquet path '.*/data/nowhere' \(\[PATH_NOT_FOUND\]"):
        snapshot(spark_yard, "spark:parquet:data/nowhere")
    with pytest.raises(DataError, match=r"Spark cannot read the table 'no_such_table' \(\[TABLE_OR_VIEW_NOT_FOUND\]"):
        snapshot(spark_yard, "spark:no_such_table")
    from modelyard.data import spark_session

    spark_session().table("churn_customers").drop("signup_date").createOrReplaceTempView("churn_undated")
    with pytest.raises(
        DataError, match=r"'spark:churn_undated' has no time column 'signup_date' \(data.time\); its columns are \["
    ):
        snapshot(spark_yard, "spark:churn_undated")
    with pytest.raises(UsageError, match=r"Spark reads parquet or csv paths, not 'json'"):
        open_source("spark:json:data/churn", spark_yard.settings.root)
    assert snapshot_folders(spark_yard) == before  # no partial snapshot left behind


def test_an_empty_range_is_the_same_error_as_for_files(spark_yard: Yard) -> None:
    messages = []
    for source in ("data/churn_us/*.parquet", "spark:parquet:data/churn_us"):
        with pytest.raises(DataError, match=r"No rows of churn in \[2030-01-01, 2031-01-01\) on signup_date") as info:
            snapshot(spark_yard, source, datetime(2030, 1, 1), datetime(2031, 1, 1))
        messages.append(info.value.message.replace(source, "SOURCE"))
    assert messages[0] == messages[1]


def test_a_parquet_file_that_lost_a_column_is_named(spark_yard: Yard, raw_churn: pd.DataFrame) -> None:
    """Spark takes the schema from one file: it would read a vanished column as nulls."""
    parquet_months(spark_yard, raw_churn, "churn_vanished", "2024-03", lambda f: f.drop(columns="tenure"))
    parquet_months(spark_yard, raw_churn, "churn_upper", "2024-03", lambda f: f.rename(columns={"tenure": "TENURE"}))
    before = snapshot_folders(spark_yard)

    with pytest.raises(
        DataError,
        match=re.escape(
            "Schema drift in data.source 'spark:parquet:data/churn_vanished': partition "
            "data/churn_vanished/2024-03.parquet has no column 'tenure', which data/churn_vanished/2024-01.parquet "
            "has; rewrite that partition with the same columns as the others, or move it out of the path"
        ),
    ):
        snapshot(spark_yard, "spark:parquet:data/churn_vanished")
    assert snapshot_folders(spark_yard) == before  # no partial snapshot left behind
    # Spark matches names without case (its default), so a renamed case is no drift to it
    assert snapshot(spark_yard, "spark:parquet:data/churn_upper").row_count > 0


def test_a_column_added_in_later_files_is_read_as_file_sources_read_it(
    spark_yard: Yard, raw_churn: pd.DataFrame
) -> None:
    """The rule of file sources: a later file may add a column. The snapshot (of the feature code's
    output) is the same from Spark as from the files."""
    parquet_months(spark_yard, raw_churn, "churn_added", "2024-06", lambda f: f.assign(region="north"))
    from_spark = snapshot(spark_yard, "spark:parquet:data/churn_added")
    assert from_spark.id == snapshot(spark_yard, "data/churn_added/*.parquet").id


def test_a_parquet_column_whose_type_changed_is_named(spark_yard: Yard, raw_churn: pd.DataFrame) -> None:
    """Spark would fail late, naming neither the column nor the file whose type it expected; the footers
    name both, as file sources do. Times stored in ms in one file and µs in another are no drift."""
    parquet_months(spark_yard, raw_churn, "churn_retyped", "2024-05", lambda f: f.astype({"tenure": str}))
    before = snapshot_folders(spark_yard)

    with pytest.raises(
        DataError,
        match=re.escape(
            "Schema drift in data.source 'spark:parquet:data/churn_retyped': column 'tenure' is large_string in "
            "partition data/churn_retyped/2024-05.parquet but int64 in data/churn_retyped/2024-01.parquet; make the "
            "types agree upstream (rewrite that partition), or move it out of the path"
        ),
    ):
        snapshot(spark_yard, "spark:parquet:data/churn_retyped")
    assert snapshot_folders(spark_yard) == before
    parquet_months(spark_yard, raw_churn, "churn_us_may", "2024-05", lambda f: f.astype({"signup_date": "M8[us]"}))
    assert snapshot(spark_yard, "spark:parquet:data/churn_us_may").row_count > 0


def test_an_empty_or_damaged_file_is_named_not_skipped(spark_yard: Yard, raw_churn: pd.DataFrame) -> None:
    """Spark skips a 0-byte file without a word; the local engine fails on it, and so does a Spark source,
    before Spark reads anything. A file that is no Parquet file (here the first) is named the same way."""
    parquet_months(spark_yard, raw_churn, "churn_zero", "2024-03", lambda f: f)
    (spark_yard.settings.root / "data" / "churn_zero" / "2024-03.parquet").write_bytes(b"")
    parquet_months(spark_yard, raw_churn, "churn_damaged", "2024-01", lambda f: f)
    (spark_yard.settings.root / "data" / "churn_damaged" / "2024-01.parquet").write_bytes(b"not parquet")
    csv_months(spark_yard, "churn_csv_zero")
    (spark_yard.settings.root / "data" / "churn_csv_zero" / "2024-07.csv").write_bytes(b"")
    before = snapshot_folders(spark_yard)

    fix = "; rewrite that file, or move it out of the path"
    empty = "the file is empty (0 bytes), and Spark would skip it without a word" + fix
    with pytest.raises(DataError) as info:
        snapshot(spark_yard, "spark:parquet:data/churn_zero/*.parquet")
    assert info.value.message == (
        "Cannot read partition data/churn_zero/2024-03.parquet of data.source "
        f"'spark:parquet:data/churn_zero/*.parquet': {empty}"
    )
    with pytest.raises(DataError, match=r"^Cannot read partition data/churn_csv_zero/2024-07\.csv of .*: the file is"):
        snapshot(spark_yard, "spark:csv:data/churn_csv_zero")
    with pytest.raises(
        DataError,
        match=r"^Cannot read partition data/churn_damaged/2024-01\.parquet of data\.source 'spark:parquet:data/"
        r"churn_damaged': .*Parquet magic bytes not found in footer.*; rewrite that file, or move it out of the path$",
    ):
        snapshot(spark_yard, "spark:parquet:data/churn_damaged")
    assert snapshot_folders(spark_yard) == before


def test_a_csv_file_whose_header_drifted_is_named(spark_yard: Yard) -> None:
    """Spark takes the columns from one header: the values of a file without a column, or with its columns
    in another order, would land under the wrong columns."""
    csv_months(spark_yard, "churn_csv")
    csv_months(spark_yard, "churn_csv_vanished", lambda f: f.drop(columns="tenure"))
    csv_months(spark_yard, "churn_csv_moved", lambda f: f[["tenure", *f.columns.drop("tenure")]])

    # Healthy files pass Spark's header check, and Spark reads them as pyarrow does.
    assert snapshot(spark_yard, "spark:csv:data/churn_csv").id == snapshot(spark_yard, "data/churn_csv/*.csv").id
    with pytest.raises(
        DataError,
        match=re.escape(
            "Schema drift in data.source 'spark:csv:data/churn_csv_vanished': partition "
            "data/churn_csv_vanished/2024-03.csv has no column 'tenure', which data/churn_csv_vanished/2024-01.csv "
            "has; rewrite that partition with the same columns as the others, or move it out of the path"
        ),
    ):
        snapshot(spark_yard, "spark:csv:data/churn_csv_vanished")
    with pytest.raises(
        DataError,
        match=re.escape(
            ": partition data/churn_csv_moved/2024-03.csv has column 'tenure' where "
            "data/churn_csv_moved/2024-01.csv has 'customer_id' (column 1);"
        ),
    ):
        snapshot(spark_yard, "spark:csv:data/churn_csv_moved")
