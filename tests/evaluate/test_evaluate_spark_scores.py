"""Scored on Spark (local mode) or locally, then evaluated: the evaluation of scoring in-process."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard import Settings, Yard
from modelyard.data import build_snapshot, score_batch, score_with_spark
from modelyard.demo._data import write_monthly_partitions
from modelyard.evaluate import evaluate

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """The result without id, time and where the scores came from."""
    result = json.loads(json.dumps(result))
    del result["id"], result["created_at"]
    for entry in result["models"].values():
        entry.pop("scores", None)
    return result


def test_spark_and_local_scores_give_the_in_process_evaluation(
    tmp_path: Path, raw_churn: pd.DataFrame, make_model: Any, churn_frame: Any
) -> None:
    from modelyard.data import spark_session

    root = tmp_path / "project"
    (root / "usecases").mkdir(parents=True)
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    (root / "usecases" / "churn.yaml").write_text(spec, encoding="utf-8")
    recent = raw_churn.iloc[int(len(raw_churn) * 0.8) :]
    write_monthly_partitions(recent, root / "data" / "churn")
    try:
        with Yard(Settings(root=root, database_url=None, author="spark-test")) as yard:
            x, _ = churn_frame  # what make_model fits on: the lineage's training data
            yard.register("churn", make_model(1.0), training_data=x, code_folder=root)
            yard.promote("churn", 1, reason="first production model")
            yard.register("churn", make_model(0.01), training_data=x, code_folder=root)
            snap = build_snapshot(yard, "churn").id
            spark = [score_with_spark(yard, "churn", v, snap, tmp_path / f"spark-v{v}").out for v in (2, 1)]
            local = [score_batch(yard, "churn", v, snap, tmp_path / f"local-v{v}.parquet").out for v in (2, 1)]

            options: dict[str, Any] = {"data": snap, "replicates": 200, "store": False}
            in_process = comparable(evaluate(yard, "churn", 2, **options).result)
            from_spark = evaluate(yard, "churn", 2, scores=spark, **options)
            from_local = comparable(evaluate(yard, "churn", 2, scores=local, **options).result)
    finally:
        spark_session().stop()

    assert from_spark.result["models"]["challenger"]["scores"] == str((tmp_path / "spark-v2").resolve())
    assert from_local == in_process
    # Spark's workers score with one BLAS thread, in batches of their own: equal here (checked), but
    # the last bits of a score may differ elsewhere, so the numbers are compared to 1e-12.
    ours = comparable(from_spark.result)
    assert (ours["verdict"], ours["reasons"]) == (in_process["verdict"], in_process["reasons"])
    assert ours["comparison"]["saving"] == pytest.approx(in_process["comparison"]["saving"], rel=1e-12)
    for role in ("challenger", "champion"):
        mine, theirs = ours["models"][role], in_process["models"][role]
        np.testing.assert_allclose(mine["chosen_threshold"], theirs["chosen_threshold"], rtol=1e-12)
        assert mine["confusion"] == theirs["confusion"]
        assert mine["metrics"]["cost_per_1000"] == pytest.approx(theirs["metrics"]["cost_per_1000"], rel=1e-12)
