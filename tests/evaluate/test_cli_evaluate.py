"""``modelyard evaluate`` through the CLI runner, on a Typer app of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from modelyard import Settings, Yard
from modelyard.cli._common import set_root
from modelyard.cli._evaluate import register_commands


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    register_commands(app)
    return app


@pytest.fixture
def cli_root(yard_root: Path, make_model, churn_frame, recent_raw: pd.DataFrame):  # type: ignore[no-untyped-def]
    x, _ = churn_frame  # what make_model fits on: the lineage's training data
    with Yard(Settings(root=yard_root, author="tester")) as yard:
        yard.register("churn", make_model(1.0), training_data=x, code_folder=yard_root)
        yard.promote("churn", 1, reason="first")
        yard.register("churn", make_model(0.01), training_data=x, code_folder=yard_root)
    (yard_root / "data").mkdir()
    recent_raw.to_parquet(yard_root / "data" / "recent.parquet", index=False)
    set_root(yard_root)
    yield yard_root
    set_root(None)


def test_evaluate_prints_a_summary_and_writes_reports(app, cli_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    result = CliRunner().invoke(
        app, ["evaluate", "churn", "2", "--replicates", "200", "--html", str(html), "--markdown", str(md)]
    )
    assert result.exit_code == 0, result.output
    assert "Verdict:" in result.output and "v2 vs v1" in result.output
    assert "report:" in result.output
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "## churn: v2 vs v1" in md.read_text(encoding="utf-8")


def test_evaluate_json(app, cli_root: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["evaluate", "churn", "v2", "--against", "1", "--replicates", "200", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == "1"
    assert data["verdict"] in {"PROMOTE", "HOLD", "BLOCK"}


def test_a_usage_error_is_one_line_and_exit_code_2(app, cli_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["evaluate", "churn", "2", "--data", str(tmp_path / "nope.parquet")])
    assert result.exit_code == 2
    assert "does not exist; pass an existing Parquet or CSV file" in result.output
    assert "Traceback" not in result.output


def test_too_few_churners_is_one_line_and_exit_code_2(
    app, cli_root: Path, recent_raw: pd.DataFrame, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    tiny = tmp_path / "tiny.parquet"
    recent_raw.head(5).to_parquet(tiny, index=False)
    positives = int(recent_raw.head(5)["churned"].sum())
    result = CliRunner().invoke(app, ["evaluate", "churn", "2", "--data", str(tiny), "--replicates", "200"])
    assert result.exit_code == 2
    assert f"holds {positives} positive (churned == True) and {5 - positives} negative rows" in result.output
    assert "needs at least 10 of each" in result.output and "Traceback" not in result.output


def test_training_rows_are_refused_with_the_way_out_and_allowed_with_a_reason(
    app, cli_root: Path, churn_frame, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Evaluating on the rows both versions were fitted on: exit 2 naming --allow-training-rows; with it,
    the summary shows the reason and the verdict is not PROMOTE."""
    x, y = churn_frame
    fitted = tmp_path / "fitted.parquet"
    x.assign(churned=y).sample(frac=0.5, random_state=0).to_parquet(fitted, index=False)
    args = ["evaluate", "churn", "2", "--data", str(fitted), "--replicates", "200"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert '--allow-training-rows "WHY"' in " ".join(refused.output.split())

    result = CliRunner().invoke(app, [*args, "--allow-training-rows", "a look at in-sample numbers", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] != "PROMOTE" and data["training_rows_allowed"]["why"] == "a look at in-sample numbers"
    shown = CliRunner().invoke(app, [*args, "--allow-training-rows", "a look at in-sample numbers"])
    assert "allowed (a look at in-sample numbers)" in " ".join(shown.output.split())
