"""Spark local mode scores exactly like local scoring: same feature code, same model."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from modelyard import DataError, Settings, UsageError, Yard
from modelyard.data import build_snapshot, score_batch, score_with_spark, spark_session

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
    from pyspark.sql import SparkSession

    if (session := SparkSession.getActiveSession()) is not None:
        session.stop()


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
    """Text in an int field of the second file: the demo's feature code raises inside mapInPandas, on a
    batch holding both small files. The DataError names the file, the row and its entity key."""
    raw = first_month(spark_yard).astype({"tenure": object})
    bad = raw.assign(tenure=raw.tenure.where(raw.index != 3, "three"))
    csv_files(spark_yard, "bad_tenure_csv", a=raw, b=bad)
    with pytest.raises(DataError) as info:
        score_with_spark(spark_yard, "churn", 1, "data/bad_tenure_csv/*.csv", tmp_path / "out")
    assert info.value.message == (
        "Spark failed scoring 'data/bad_tenure_csv/*.csv': The feature code modelyard.demo.features:churn_features "
        f"failed on a Spark batch of rows from data/bad_tenure_csv/b.csv, row 3 (customer_id={raw.customer_id[3]!r}): "
        "ValueError: invalid literal for int() with base 10: 'three'; fix the function or the row upstream"
    )


def test_a_batch_from_several_files_names_the_file_of_the_failing_row(tmp_path: Path) -> None:
    """The worker's side alone (no Spark): small files share a batch; the failing row's file is found."""
    from modelyard.data._features import FeatureCode
    from modelyard.data._spark import _features

    code = FeatureCode("m:features", lambda raw: raw.assign(x=raw["x"].astype(int)), "0")
    batch = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": ["1", "2", "3", "four"]})
    files, names = np.array([0, 0, 1, 1]), ["data/a.csv", "data/b.csv"]
    with pytest.raises(DataError, match=r"failed on a Spark batch of rows from data/b\.csv, row 1 \(customer_id='d'\)"):
        _features(code, batch, files, names, "customer_id")
    with pytest.raises(DataError, match=r"failed on a Spark batch of rows, row 3 \(customer_id='d'\)"):
        _features(code, batch, np.array([-1, -1, -1, -1]), names, "customer_id")  # Spark named no file
    twice = FeatureCode("m:twice", lambda raw: pd.concat([raw, raw[["x"]]], axis=1), "0")
    with pytest.raises(DataError, match=r"returned column\(s\) \['x'\] more than once"):
        _features(twice, batch, files, names, "customer_id")
    assert _features(code, batch.iloc[:3], files[:3], names, "customer_id")["x"].tolist() == [1, 2, 3]


def test_an_empty_parquet_file_is_refused_not_skipped(spark_yard: Yard, tmp_path: Path) -> None:
    """Spark skips a 0-byte file without a word (and scores the rest); the local engine fails on it."""
    folder = spark_yard.settings.root / "data" / "churn_zero"
    shutil.copytree(spark_yard.settings.root / "data" / "churn", folder)
    (folder / "2024-03.parquet").write_bytes(b"")
    with pytest.raises(
        DataError,
        match=re.escape(
            "Cannot read partition data/churn_zero/2024-03.parquet of --data 'data/churn_zero/*.parquet': the file "
            "is empty (0 bytes), and Spark would skip it without a word; rewrite that file, or move it out of the path"
        ),
    ):
        score_with_spark(spark_yard, "churn", 1, "data/churn_zero/*.parquet", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def spark_spec(spark_yard: Yard) -> Iterator[Callable[[str, str], None]]:
    """Edit a line of the module's spec for one test; the spec is put back after it."""
    path = spark_yard.settings.resolved_usecases() / "churn.yaml"
    text = path.read_text(encoding="utf-8")

    def edit(old: str, new: str) -> None:
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    yield edit
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("source", ["data/churn/*.parquet", "spark:parquet:data/churn/*.parquet"])
def test_the_spec_source_is_scored_as_the_local_engine_scores_it(
    spark_yard: Yard, spark_spec: Callable[[str, str], None], tmp_path: Path, source: str
) -> None:
    spark_spec('source: "data/churn/*.parquet"', f'source: "{source}"')
    local = score_batch(spark_yard, "churn", 1, "data/churn/*.parquet", tmp_path / "local.parquet")
    spark = score_with_spark(spark_yard, "churn", 1, "source", tmp_path / "spark")
    a = pd.read_parquet(local.out).sort_values("customer_id").reset_index(drop=True)
    b = pd.read_parquet(spark.out).sort_values("customer_id").reset_index(drop=True)
    assert spark.rows == local.rows == len(b) and (a["customer_id"] == b["customer_id"]).all()
    np.testing.assert_allclose(b["score"], a["score"], rtol=0, atol=1e-12)


def test_a_database_source_is_refused_by_name(
    spark_yard: Yard, spark_spec: Callable[[str, str], None], tmp_path: Path
) -> None:
    spark_spec('source: "data/churn/*.parquet"', 'source: "sqlite:////data/sales.db?table=customers"')
    with pytest.raises(UsageError) as caught:
        score_with_spark(spark_yard, "churn", 1, "source", tmp_path / "out")
    assert caught.value.message == (
        "--engine spark cannot read --data source (data.source 'sqlite:////data/sales.db?table=customers'): it is "
        "a database table, which Spark reads only as a Spark table; score it with --engine local, or name a Spark "
        "table or path in data.source (spark:TABLE, spark:parquet:PATH)"
    )
    assert not (tmp_path / "out").exists()


def test_spark_refuses_the_outputs_the_local_engine_refuses(
    spark_yard: Yard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before Spark starts, and nothing is made."""
    root = spark_yard.settings.root
    home = spark_yard.settings.resolved_home().resolve()
    specs = spark_yard.settings.resolved_usecases().resolve()
    part = root / "data" / "churn" / "2024-12.parquet"
    refused = {
        home / "spark-scores": f"--out {home / 'spark-scores'} is inside the yard's own folder {home} "
        "(snapshots, artifacts, the registry); write the scores elsewhere",
        specs / "scores.yaml": f"--out {specs / 'scores.yaml'} is a use-case spec in {specs}; write the scores "
        "elsewhere, e.g. scores-scores.parquet",
    }
    for out, message in refused.items():
        with pytest.raises(UsageError) as caught:
            score_with_spark(spark_yard, "churn", 1, "data/churn/2024-1*.parquet", out)
        assert caught.value.message == message
        assert not out.exists()
    with pytest.raises(UsageError, match=r"2024-12\.parquet already exists; Spark writes a folder"):
        score_with_spark(spark_yard, "churn", 1, "data/churn/2024-1*.parquet", part)
    monkeypatch.setenv("HOME", str(home))  # a quoted ~ is expanded before the checks
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        score_with_spark(spark_yard, "churn", 1, "data/churn/*.parquet", "~/spark-scores")
    assert caught.value.message.startswith(f"--out {home / 'spark-scores'} is inside the yard's own folder {home} ")
    assert list(tmp_path.iterdir()) == [] and not (home / "spark-scores").exists()


@pytest.mark.slow
def test_a_failing_job_prints_modelyard_s_message_alone(spark_yard: Yard, tmp_path: Path) -> None:
    """Spark's logging is off in the sessions modelyard starts: no log4j stacks ("Aborting task") and no
    Python worker traceback before the error line. In a new process, whose JVM starts as the CLI's does."""
    raw = first_month(spark_yard)
    csv_files(spark_yard, "bad_tenure_cli", a=raw.astype({"tenure": object}).assign(tenure="x"))
    args = ["--root", str(spark_yard.settings.root), "score", "churn", "1", "--data", "data/bad_tenure_cli/*.csv"]
    done = subprocess.run(
        [sys.executable, "-m", "modelyard", *args, "--out", str(tmp_path / "out"), "--engine", "spark"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    jvm = "WARNING: Using incubator modules"  # the JVM's own, printed before any logging starts
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith(jvm)]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: Spark failed scoring 'data/bad_tenure_cli/*.csv': The feature code ")


def test_a_master_spark_does_not_know_is_a_usage_error(spark_yard: Yard, tmp_path: Path) -> None:
    """Refused before Java starts when spark-submit would refuse it, else when Spark cannot parse it: one
    line naming --master, the value and the fix. Last in the module: a master takes effect on a new session."""
    from pyspark.sql import SparkSession

    from modelyard.cli import app

    root = str(spark_yard.settings.root)
    args = ["--root", root, "score", "churn", "1", "--data", "data/churn/*.parquet", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--engine", "spark", "--master", "bogus://x"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and result.stderr == (
        "error: --master 'bogus://x' is not a Spark master URL: use local[2] (this machine, 2 cores), "
        "spark://HOST:7077, yarn or k8s://https://HOST:PORT\n"
    )

    if (session := SparkSession.getActiveSession()) is not None:
        session.stop()
    with pytest.raises(
        UsageError, match=re.escape("Spark did not start with --master 'local[x]' (Could not parse Master URL: ")
    ):
        spark_session("local[x]")
