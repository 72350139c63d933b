"""Spark local mode scores exactly like local scoring: same feature code, same model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import DataError, Settings, UsageError, Yard
from modelyard.data import build_snapshot, score_batch, score_with_spark

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_yard(tmp_path_factory: pytest.TempPathFactory, raw_churn, make_model):  # type: ignore[no-untyped-def]
    from importlib import resources

    from modelyard.demo._data import write_monthly_partitions

    root = tmp_path_factory.mktemp("spark") / "project"
    (root / "usecases").mkdir(parents=True)
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text()
    (root / "usecases" / "churn.yaml").write_text(spec)
    write_monthly_partitions(raw_churn[raw_churn.signup_date >= "2024-01-01"], root / "data" / "churn")
    yard = Yard(Settings(root=root, database_url=None, author="spark-test"))
    yard.register("churn", make_model(1.0), threshold=0.4)
    yield yard
    yard.close()
    from modelyard.data import spark_session

    spark_session().stop()


@pytest.mark.parametrize("kind", ["snapshot", "raw source"])
def test_spark_scores_equal_local_scores(spark_yard: Yard, tmp_path: Path, kind: str) -> None:
    if kind == "snapshot":
        data = build_snapshot(spark_yard, "churn", start=datetime(2024, 1, 1)).id
    else:
        data = "data/churn/*.parquet"
    local = score_batch(spark_yard, "churn", 1, data, tmp_path / "local.parquet")
    spark = score_with_spark(spark_yard, "churn", 1, data, tmp_path / "spark")
    a = pd.read_parquet(local.out).sort_values("customer_id").reset_index(drop=True)
    b = pd.read_parquet(spark.out).sort_values("customer_id").reset_index(drop=True)
    assert spark.rows == local.rows == len(a) == len(b) and spark.positives == local.positives
    np.testing.assert_allclose(b["score"], a["score"], rtol=0, atol=1e-12)
    assert (b["decision"] == a["decision"]).all() and set(b["version"]) == {1}


def test_spark_refuses_to_overwrite(spark_yard: Yard, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        score_with_spark(spark_yard, "churn", 1, "data/churn/*.parquet", tmp_path / "taken")


def csv_files(yard: Yard, name: str, **files: pd.DataFrame) -> None:
    """data/NAME/<key>.csv for each frame given."""
    folder = yard.settings.root / "data" / name
    folder.mkdir(parents=True)
    for stem, frame in files.items():
        frame.to_csv(folder / f"{stem}.csv", index=False)


def first_month(yard: Yard) -> pd.DataFrame:
    return pd.read_parquet(sorted((yard.settings.root / "data" / "churn").glob("*.parquet"))[0])


def test_files_that_drifted_apart_are_refused_before_scoring(spark_yard: Yard, tmp_path: Path) -> None:
    """A CSV file that lost a column would have its values read under other columns: refused, naming
    the file and the column, and no output folder."""
    raw = first_month(spark_yard)
    csv_files(spark_yard, "drifted_csv", a=raw, b=raw.drop(columns=["tenure"]))
    with pytest.raises(
        DataError,
        match=r"Schema drift in --data 'data/drifted_csv/\*\.csv': partition data/drifted_csv/b\.csv has no "
        r"column 'tenure', which data/drifted_csv/a\.csv has",
    ):
        score_with_spark(spark_yard, "churn", 1, "data/drifted_csv/*.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_feature_code_that_raises_on_a_worker_is_named(spark_yard: Yard, tmp_path: Path) -> None:
    """Text in an int field: the demo's feature code raises inside mapInPandas; the DataError carries
    the Python exception, not only Spark's 'task failed' line."""
    raw = first_month(spark_yard).astype({"tenure": object})
    csv_files(spark_yard, "bad_tenure_csv", a=raw.assign(tenure=raw.tenure.where(raw.index != 3, "three")))
    with pytest.raises(DataError, match=r"Spark failed scoring .*Python worker: .*row 3: ValueError") as info:
        score_with_spark(spark_yard, "churn", 1, "data/bad_tenure_csv/*.csv", tmp_path / "out")
    assert "three" in info.value.message
