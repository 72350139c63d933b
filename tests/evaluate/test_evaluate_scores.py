"""``evaluate(..., scores=...)``: scored output in, the same evaluation out; mismatched scores refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from modelyard import Settings, Yard
from modelyard.cli._common import set_root
from modelyard.cli._evaluate import register_commands
from modelyard.data import build_snapshot, score_batch
from modelyard.demo._data import write_monthly_partitions
from modelyard.evaluate import EvaluationError, evaluate

FAST: dict[str, Any] = {"replicates": 200, "store": False}


def same_evaluation(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal in everything but id, time and where the scores came from."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    for result in (a, b):
        del result["id"], result["created_at"]
        for entry in result["models"].values():
            entry.pop("scores", None)
    assert a == b


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, raw_churn: pd.DataFrame, make_model, churn_frame) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A yard with v1 (production) and v2, the newest 20% of customers raw in data/recent.parquet
    and as monthly partitions, and both versions' local scores of that file in out/v1, out/v2."""
    root = tmp_path_factory.mktemp("scores") / "project"
    (root / "usecases").mkdir(parents=True)
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    (root / "usecases" / "churn.yaml").write_text(spec, encoding="utf-8")
    recent = raw_churn.iloc[int(len(raw_churn) * 0.8) :].reset_index(drop=True)
    (root / "data").mkdir()
    recent.to_parquet(root / "data" / "recent.parquet", index=False)
    write_monthly_partitions(recent, root / "data" / "churn")
    with Yard(Settings(root=root, database_url=None, author="tester")) as yard:
        x, _ = churn_frame  # what make_model fits on: the lineage's training data
        yard.register("churn", make_model(1.0), training_data=x, code_folder=root)
        yard.promote("churn", 1, reason="first production model")
        yard.register("churn", make_model(0.01), training_data=x, code_folder=root)
        for version in (1, 2):
            score_batch(yard, "churn", version, "data/recent.parquet", root / "out" / f"v{version}.parquet")
        yield yard


def out(yard: Yard, version: int) -> Path:
    return yard.settings.root / "out" / f"v{version}.parquet"


def test_scored_output_gives_the_in_process_evaluation(scored: Yard) -> None:
    data = scored.settings.root / "data" / "recent.parquet"
    in_process = evaluate(scored, "churn", 2, data=data, **FAST)
    from_scores = evaluate(scored, "churn", 2, data=data, scores=[out(scored, 2), out(scored, 1)], **FAST)

    same_evaluation(in_process.result, from_scores.result)
    assert from_scores.result["models"]["challenger"]["scores"] == str(out(scored, 2).resolve())
    assert from_scores.result["models"]["champion"]["scores"] == str(out(scored, 1).resolve())


def test_one_frame_holding_both_versions_and_rows_in_another_order(scored: Yard) -> None:
    data = scored.settings.root / "data" / "recent.parquet"
    both = pd.concat([pd.read_parquet(out(scored, v)) for v in (1, 2)]).sample(frac=1.0, random_state=0)
    in_process = evaluate(scored, "churn", 2, data=data, **FAST)
    from_frame = evaluate(scored, "churn", 2, data=data, scores=both, **FAST)
    same_evaluation(in_process.result, from_frame.result)
    assert from_frame.result["models"]["champion"]["scores"].startswith("frame:sha256:")


def test_a_snapshot_without_baseline_reads_only_the_columns_it_needs(scored: Yard, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    snap = build_snapshot(scored, "churn")
    for version in (1, 2):
        score_batch(scored, "churn", version, snap.id, scored.settings.root / "snap" / f"v{version}.parquet")
    in_process = evaluate(scored, "churn", 2, data=snap.id, baseline=False, **FAST)

    read: list[Any] = []
    original = pd.read_parquet

    def spy(path: Any, **kw: Any) -> pd.DataFrame:
        read.append(kw.get("columns"))
        return original(path, **kw)

    monkeypatch.setattr(pd, "read_parquet", spy)
    paths = [scored.settings.root / "snap" / f"v{v}.parquet" for v in (1, 2)]
    lean = evaluate(scored, "churn", 2, data=snap.id, scores=paths, baseline=False, **FAST)

    compared, not_made = in_process.result.pop("training_rows"), lean.result.pop("training_rows")
    same_evaluation(in_process.result, lean.result)
    assert read == [["churned", "signup_date", "customer_id", "monthly_charges", "contract"]]
    assert [(c["role"], c["status"], c["found"]) for c in compared] == [
        ("challenger", "compared", 0),
        ("champion", "compared", 0),
    ]
    assert [c["status"] for c in not_made] == ["not made", "not made"]
    assert all("model inputs were not read" in c["note"] for c in not_made)


def test_scores_of_a_version_not_compared_are_refused(scored: Yard) -> None:
    data = scored.settings.root / "data" / "recent.parquet"
    with pytest.raises(EvaluationError, match=r"no scores of churn/v1 among the scores given \(they hold v2\)"):
        evaluate(scored, "churn", 2, data=data, scores=out(scored, 2), **FAST)
    with pytest.raises(EvaluationError, match=r"are of version 1, but this evaluation needs churn/v2; pass"):
        evaluate(scored, "churn", 2, against=None, data=data, scores=[out(scored, 1), out(scored, 2)], **FAST)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[:-3], r"the scores of churn/v2 hold 1,406 rows but the evaluation data holds 1,409"),
        (
            lambda f: f.assign(customer_id=f["customer_id"].where(f.index != 5, "C99999")),
            r"1 of 1,409 rows of the evaluation data have no score of churn/v2 \(e.g. customer_id 'C0\d+'\)",
        ),
        (
            lambda f: f.assign(customer_id=f["customer_id"].where(f.index != 5, f["customer_id"].iloc[6])),
            r"entity key 'customer_id' repeats in the scores of churn/v2 \(e.g. 'C0\d+'\)",
        ),
        (
            lambda f: f.assign(churned=f["churned"].where(f.index != 7, ~f["churned"])),
            r"label 'churned' in the scores of churn/v2 differs from the evaluation data's in 1 of 1,409 rows "
            r"\(e.g. customer_id 'C0\d+'\); they were scored on other rows",
        ),
        (lambda f: f.drop(columns="version"), r"have no column\(s\) \['version'\] \(columns present: customer_id"),
        (lambda f: f.assign(score=f["score"] * 2), r"score of churn/v2 is NaN or outside \[0, 1\]"),
    ],
    ids=["rows", "key", "repeated key", "label", "no version", "not a probability"],
)
def test_mismatched_scores_are_refused(scored: Yard, change: Any, message: str) -> None:
    data = scored.settings.root / "data" / "recent.parquet"
    bad = change(pd.read_parquet(out(scored, 2)))
    with pytest.raises(EvaluationError, match=message):
        evaluate(scored, "churn", 2, data=data, scores=[bad, out(scored, 1)], **FAST)


def test_missing_scores_and_unlabelled_data_are_refused(scored: Yard, tmp_path: Path) -> None:
    data = scored.settings.root / "data" / "recent.parquet"
    with pytest.raises(EvaluationError, match=r"the scores '.*nowhere' do not exist; pass the output of"):
        evaluate(scored, "churn", 2, data=data, scores=[tmp_path / "nowhere", out(scored, 1)], **FAST)
    unlabelled = pd.read_parquet(data).drop(columns="churned")
    with pytest.raises(EvaluationError, match="no label column 'churned'"):
        evaluate(scored, "churn", 2, data=unlabelled, scores=[out(scored, 2), out(scored, 1)], **FAST)


def test_the_cli_takes_scores(scored: Yard) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register_commands(app)
    root = scored.settings.root
    set_root(root)
    try:
        args = ["evaluate", "churn", "2", "--replicates", "200", "--no-baseline", "--json"]
        ok = CliRunner().invoke(app, [*args, "--scores", str(out(scored, 2)), "--scores", str(out(scored, 1))])
        refused = CliRunner().invoke(app, [*args, "--scores", str(out(scored, 2))])
    finally:
        set_root(None)
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.output)
    assert result["models"]["challenger"]["scores"].endswith("v2.parquet") and result["reference"] is None
    assert refused.exit_code == 2 and "no scores of churn/v1" in refused.output and "Traceback" not in refused.output
