"""A Spark table or path as ``data.source``: the same snapshot as the files it reads, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from importlib import resources

import pandas as pd
import pytest

from modelyard import DataError, Settings, UsageError, Yard
from modelyard.data import SparkSource, TimeRange, build_snapshot, open_source, read_snapshot

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

START, END = datetime(2024, 1, 1), datetime(2024, 7, 1)


@pytest.fixture(scope="module")
def spark_yard(tmp_path_factory: pytest.TempPathFactory, raw_churn: pd.DataFrame) -> Iterator[Yard]:
    """The demo's monthly partitions of 2023-2024 twice: as the demo writes them (times in ms) under
    data/churn, and with times in µs, Spark's unit, under data/churn_us; one Spark session for all."""
    from modelyard.data import spark_session
    from modelyard.demo._data import write_monthly_partitions

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
    snapshots = spark_yard.settings.resolved_home() / "snapshots"
    before = sorted(snapshots.iterdir()) if snapshots.exists() else []
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
    after = sorted(snapshots.iterdir()) if snapshots.exists() else []
    assert after == before  # no partial snapshot left behind


def test_an_empty_range_is_the_same_error_as_for_files(spark_yard: Yard) -> None:
    messages = []
    for source in ("data/churn_us/*.parquet", "spark:parquet:data/churn_us"):
        with pytest.raises(DataError, match=r"No rows of churn in \[2030-01-01, 2031-01-01\) on signup_date") as info:
            snapshot(spark_yard, source, datetime(2030, 1, 1), datetime(2031, 1, 1))
        messages.append(info.value.message.replace(source, "SOURCE"))
    assert messages[0] == messages[1]
