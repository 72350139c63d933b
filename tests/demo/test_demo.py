from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard import Stage, UsageError, open_yard
from modelyard.demo import run_demo


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo built once for the module: the yard and what the demo printed."""
    from rich.console import Console

    folder = tmp_path_factory.mktemp("demo") / "yard"
    out = io.StringIO()
    yard = run_demo(folder, console=Console(file=out, width=120))
    yield yard, out.getvalue()
    yard.close()


@pytest.fixture(scope="module")
def demo_yard(demo_build):  # type: ignore[no-untyped-def]
    return demo_build[0]


def test_the_demo_checks_the_challenger_and_stores_the_result(demo_build) -> None:  # type: ignore[no-untyped-def]
    """The check's demo stage ran inside the demo: printed, stored against v2, complete, no soak failure."""
    from modelyard.store import Store

    yard, printed = demo_build
    assert "Handoff check of churn/v2 for churn" in printed
    with yard.store.reading() as conn:
        stored = Store.latest_check_result(conn, "churn", 2)
    assert stored is not None and stored.result["model"] == "churn/v2" and stored.result["complete"]
    soak = {c["name"]: c["status"] for c in stored.result["checks"] if c["name"].startswith("soak")}
    assert soak and "FAIL" not in soak.values(), soak


def test_the_demo_builds_a_champion_in_production_and_a_challenger_in_shadow(demo_yard) -> None:
    stages = {v.version: v.stage for v in demo_yard.models("churn")}
    assert stages == {1: Stage.PRODUCTION, 2: Stage.SHADOW}
    challenger = demo_yard.model("churn", 2)
    assert challenger.research_item == "RI-1"
    from modelyard.data import list_snapshots

    (snapshot,) = list_snapshots(demo_yard, "churn")
    assert challenger.snapshot_id == demo_yard.model("churn", 1).snapshot_id == snapshot.id
    assert snapshot.row_count == 7043
    assert challenger.training_data_hash and challenger.author == "carol@research"
    assert {"max_iter", "learning_rate"} <= set(challenger.params) or "steps" in challenger.params


def test_the_challenger_beats_the_baseline_on_newer_customers(demo_yard) -> None:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from modelyard.demo.features import churn_features

    recent = pd.read_parquet(demo_yard.settings.root / "data" / "recent.parquet")
    x, y = churn_features(recent), recent["churned"]
    auc = {v: roc_auc_score(y, demo_yard.load("churn", v).score(x)) for v in (1, 2)}
    assert 0.70 < auc[1] < auc[2] < 0.95


def test_the_demo_refuses_to_overwrite_a_yard_without_force(demo_yard) -> None:
    with pytest.raises(UsageError, match="already holds a yard; pass --force"):
        run_demo(demo_yard.settings.root)
    assert (demo_yard.settings.root / ".modelyard" / "made-by-demo").is_file()


def test_force_never_deletes_a_yard_the_demo_did_not_build(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".modelyard").mkdir(parents=True)
    (project / "usecases").mkdir()
    (project / "usecases" / "fraud.yaml").write_text("name: fraud\n")
    with pytest.raises(UsageError, match=r"holds a yard the demo did not build .*--force would delete its registry"):
        run_demo(project, force=True)
    assert (project / "usecases" / "fraud.yaml").read_text() == "name: fraud\n"


@pytest.mark.slow
def test_the_demo_command_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "modelyard", "demo", str(tmp_path / "yard")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "What next" in proc.stdout and "production" in proc.stdout


@pytest.mark.postgres
def test_the_demo_in_team_mode_keeps_registry_and_data_in_postgresql(tmp_path: Path, pg_url: str) -> None:
    import io

    from rich.console import Console

    from modelyard.data import list_snapshots
    from modelyard.demo._run import TEAM_TABLE

    yard = run_demo(tmp_path / "team", console=Console(file=io.StringIO(), width=120), team_database=pg_url)
    try:
        assert yard.store.dialect == "postgresql"
        assert f"table={TEAM_TABLE}" in yard.use_case("churn").data.source
        (snapshot,) = list_snapshots(yard, "churn")
        assert snapshot.row_count == 7043 and "table churn_customers" in snapshot.source
        assert {v.version: v.stage for v in yard.models("churn")} == {1: Stage.PRODUCTION, 2: Stage.SHADOW}
    finally:
        yard.close()
    # the folder remembers its team database: opening it later (no settings given) finds the registry
    with open_yard(tmp_path / "team") as again:
        assert again.store.dialect == "postgresql" and len(again.models("churn")) == 2


def test_the_serving_stage_answers_every_protocol_and_logs_both_versions(demo_yard) -> None:
    from modelyard.serve import read_prediction_log
    from modelyard.serve._demo import run_traffic

    before = read_prediction_log(demo_yard.settings.resolved_home() / "predictions", "churn")  # the demo's own burst
    traffic = run_traffic(demo_yard)
    assert dict(traffic.failures) == {}
    assert dict(traffic.rows) == {
        "plain /predict/churn": 300,
        "MLflow /invocations": 500,
        "OIP v2 /v2/models/churn/infer": 500,
    }
    assert traffic.example["version"] == 1 and traffic.example["role"] == "production"
    logged = traffic.logged
    new = logged.iloc[len(before) :]
    assert new.groupby(["version", "role"]).size().to_dict() == {(1, "production"): 1300, (2, "shadow"): 1300}
    assert traffic.metrics["requests v1 production"] >= 310 and traffic.metrics["batches v2 shadow"] > 0
    assert new["score"].between(0, 1).all() and new["inputs"].str.contains("customer_id").all()
