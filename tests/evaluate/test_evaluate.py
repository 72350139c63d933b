"""``evaluate`` end to end on the real churn data: stored, reported, refused on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.evaluate import (
    SCHEMA_VERSION,
    EvaluationError,
    NoPassingEvaluationError,
    cost_model_sha256,
    evaluate,
    load_evaluation,
    require_passing_evaluation,
)
from modelyard.store import Store, utcnow

FAST = {"replicates": 200}


def stored(yard) -> list:  # type: ignore[no-untyped-def]
    with yard.store.reading() as conn:
        return Store.list_evaluations(conn, "churn")


def reports(yard) -> list[Path]:  # type: ignore[no-untyped-def]
    folder = yard.settings.resolved_home() / "reports"
    return sorted(folder.glob("*.html")) if folder.exists() else []


def test_evaluation_is_stored_with_a_self_contained_report(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    ev = evaluate(evaluated_yard, "churn", 2, **FAST)

    assert ev.verdict in {"PROMOTE", "HOLD", "BLOCK"}
    assert len(ev.reasons) == 4  # three gates and one guard
    for reason, gate in zip(ev.reasons, ev.result["gates"], strict=True):
        assert reason.startswith(gate["gate"])
        assert "bound" in reason
    assert "roc_auc >= 0.75" in ev.reasons[0] and "[" in ev.reasons[0]

    [record] = stored(evaluated_yard)
    assert (record.id, record.challenger_version, record.champion_version) == (ev.id, 2, 1)
    assert record.verdict == ev.verdict and record.schema_version == SCHEMA_VERSION
    assert record.cost_model_sha256 == ev.result["cost_model_sha256"]
    assert record.data_ref.endswith("recent.parquet")
    assert load_evaluation(evaluated_yard, ev.id).result == ev.result

    html = Path(record.report_path).read_text(encoding="utf-8")
    assert ev.report_path == Path(record.report_path)
    assert html.count("data:image/png;base64,") == 6
    assert "<script" not in html and "<link" not in html and "http" not in html.split("<body>")[1]
    assert ev._repr_html_().startswith("<!doctype html>")

    data = json.loads(ev.to_json())
    assert data["schema_version"] == "1"
    assert data["models"]["challenger"]["version"] == 2
    assert data["models"]["champion"]["version"] == 1
    assert data["data"]["rows"] == 1409
    assert "cross-fitting" in data["method"]["threshold_selection"]
    assert "bootstrap" in data["method"]["resampling"]
    assert data["segments"][0]["name"] == "long_contract"
    assert len(data["stability"]["slices"]) > 1
    saving = data["comparison"]["saving"]
    assert saving["low"] <= saving["value"] <= saving["high"]
    chal = data["models"]["challenger"]
    assert (
        chal["metrics"]["roc_auc"]["low"] <= chal["metrics"]["roc_auc"]["value"] <= chal["metrics"]["roc_auc"]["high"]
    )
    assert 0 <= chal["chosen_threshold"] <= 1

    assert data["reference"]["label"].startswith("logistic regression")
    assert [o["role"] for o in data["worth_it"]["options"]] == ["challenger", "champion", "reference"]

    md = ev.to_markdown()
    assert f"**{ev.verdict}**" in md and "| cost per 1,000 decisions |" in md


def test_without_a_champion_the_trivial_policy_is_the_baseline(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    ev = evaluate(evaluated_yard, "churn", 2, against=None, store=False, **FAST)
    assert ev.result["comparison"]["baseline"] in {"act on everyone", "act on no one"}
    assert "policy" in ev.result["models"]["champion"]
    assert ev.to_html().count("data:image/png;base64,") == 6
    assert ev.to_markdown().startswith("## churn: v2 vs act on")
    assert stored(evaluated_yard) == []


def test_promotion_needs_a_passing_evaluation_against_the_champion(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    yard = evaluated_yard
    with pytest.raises(NoPassingEvaluationError, match=r"churn/v2 has no passing evaluation against the production"):
        require_passing_evaluation(yard, "churn", 2)
    with pytest.raises(NoPassingEvaluationError, match=r'modelyard evaluate churn 2.*--force --why "\.\.\."'):
        require_passing_evaluation(yard, "churn", 2)

    def save(verdict: str, champion: int) -> str:
        values = {
            "use_case": "churn",
            "challenger_version": 2,
            "champion_version": champion,
            "verdict": verdict,
            "schema_version": "1",
            "result": {},
            "created_at": utcnow(),
            "cost_model_sha256": cost_model_sha256(yard.use_case("churn")),
        }
        with yard.store.writing() as conn:
            return Store.save_evaluation(conn, values).id

    held = save("HOLD", 1)
    with pytest.raises(NoPassingEvaluationError, match=f"its latest evaluation {held} says HOLD"):
        require_passing_evaluation(yard, "churn", 2)
    passed = save("PROMOTE", 1)
    assert require_passing_evaluation(yard, "churn", "v2").id == passed
    # a new champion makes the old evaluation moot
    yard.register("churn", _constant_model(), code_folder=yard.settings.root)
    yard.registry.promote("churn", 3, reason="another champion")
    with pytest.raises(NoPassingEvaluationError, match="against the production version v3"):
        require_passing_evaluation(yard, "churn", 2)


def _constant_model():  # type: ignore[no-untyped-def]
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior").fit(np.zeros((4, 1)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda raw: raw.assign(churned=raw["churned"].astype(object).where(raw.index % 100 != 5, "maybe")),
            r"label column 'churned' is not binary: 3 distinct values .* 15 of 1409 rows hold a third value "
            r"\(e.g. row 5: 'maybe'\)",
        ),
        (
            lambda raw: raw.assign(churned=False),
            r"label column 'churned' holds one class only: all 1409 rows are negative",
        ),
        (
            lambda raw: raw.assign(churned=raw["churned"].astype(object).where(raw.index != 7, None)),
            r"label column 'churned' is missing in 1 of 1409 rows \(e.g. row 7\)",
        ),
        (
            lambda raw: raw.drop(columns=["tenure"]),
            r"lacks 1 input column\(s\) of use case 'churn', e.g. 'tenure'",
        ),
        (
            lambda raw: raw.assign(monthly_charges=raw["monthly_charges"].where(raw.index % 2 == 0, -1.0)),
            r"cost false_negative gives negative amounts in \d+ of 1409 rows",
        ),
    ],
)
def test_bad_data_is_refused_and_nothing_is_stored(evaluated_yard, recent_raw, change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EvaluationError, match=message):
        evaluate(evaluated_yard, "churn", 2, data=change(recent_raw.copy()), **FAST)
    assert stored(evaluated_yard) == []
    assert reports(evaluated_yard) == []


def _rows(raw: pd.DataFrame, positives: int, negatives: int) -> pd.DataFrame:
    """``positives`` churners and ``negatives`` stayers drawn at random, three stayers on long contracts."""
    churned, stayed = raw[raw["churned"]], raw[~raw["churned"]]
    long = stayed["contract"] != "Month-to-month"
    picked = [stayed[long].head(3), stayed[~long].sample(negatives - 3, random_state=0)]
    return pd.concat([churned.sample(positives, random_state=0), *picked]).sort_values("signup_date")


@pytest.mark.parametrize(("positives", "negatives"), [(1, 4), (1, 300), (300, 9), (9, 9)])
def test_too_few_positives_or_negatives_are_refused(evaluated_yard, recent_raw, positives, negatives) -> None:  # type: ignore[no-untyped-def]
    """With one churner the ROC AUC interval was [1.000, 1.000] and the gate passed on one customer."""
    message = (
        f"label column 'churned' holds {positives:,} positive (churned == True) and {negatives:,} negative rows; "
        "an evaluation needs at least 10 of each to put bootstrap intervals on ROC AUC and costs and to "
        "cross-fit a threshold; evaluate on more labelled rows (a longer period or a larger snapshot)"
    )
    with pytest.raises(EvaluationError, match=f"^{re.escape(message)}$"):
        evaluate(evaluated_yard, "churn", 2, data=_rows(recent_raw, positives, negatives), **FAST)
    assert stored(evaluated_yard) == []
    assert reports(evaluated_yard) == []


def test_ten_of_each_class_is_evaluated_with_wide_intervals(evaluated_yard, recent_raw) -> None:  # type: ignore[no-untyped-def]
    from modelyard.evaluate import MIN_ROWS_PER_CLASS

    data = _rows(recent_raw, MIN_ROWS_PER_CLASS, MIN_ROWS_PER_CLASS)
    ev = evaluate(evaluated_yard, "churn", 2, data=data, store=False, **FAST)
    assert (ev.result["data"]["rows"], ev.result["data"]["positives"]) == (20, 10)
    auc = ev.result["models"]["challenger"]["metrics"]["roc_auc"]
    assert auc["high"] - auc["low"] > 0.1
    assert ev.verdict != "PROMOTE"


def test_bad_scores_are_refused_and_nothing_is_stored(evaluated_yard, monkeypatch, recent_raw) -> None:  # type: ignore[no-untyped-def]
    real_load = evaluated_yard.load

    class Broken:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner = inner

        def score(self, frame: pd.DataFrame) -> np.ndarray:
            s = self.inner.score(frame)
            s[[3, 10, 11]] = [np.nan, 1.5, -0.1]
            return s

    monkeypatch.setattr(evaluated_yard, "load", lambda uc, ref, trust=False: Broken(real_load(uc, ref)))
    with pytest.raises(
        EvaluationError, match=r"score of churn/v2 is NaN or outside \[0, 1\] in 3 of 1409 rows \(e.g. row 3: nan\)"
    ):
        evaluate(evaluated_yard, "churn", 2, **FAST)
    assert stored(evaluated_yard) == []


def test_a_model_that_fails_to_score_is_named_and_nothing_is_stored(evaluated_yard, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modelyard import DataError

    class Failing:
        def score(self, frame: pd.DataFrame) -> np.ndarray:
            raise RuntimeError("boom")

    monkeypatch.setattr(evaluated_yard, "load", lambda uc, ref, trust=False: Failing())
    with pytest.raises(
        DataError,
        match=r"churn/v2 \(challenger\) failed to score the evaluation data: RuntimeError: boom; "
        r"run 'modelyard check churn 2'",
    ):
        evaluate(evaluated_yard, "churn", 2, **FAST)
    assert stored(evaluated_yard) == []


def test_no_data_and_no_default_file_says_to_pass_data(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    (evaluated_yard.settings.root / "data" / "recent.parquet").unlink()
    with pytest.raises(EvaluationError, match=r"recent.parquet does not exist; pass the data with --data FILE"):
        evaluate(evaluated_yard, "churn", 2, **FAST)


def test_model_inputs_are_accepted_as_they_are(evaluated_yard, recent_raw) -> None:  # type: ignore[no-untyped-def]
    from modelyard.demo.features import churn_features

    inputs = churn_features(recent_raw).assign(churned=recent_raw["churned"], signup_date=recent_raw["signup_date"])
    a = evaluate(evaluated_yard, "churn", 2, data=inputs, store=False, **FAST)
    b = evaluate(evaluated_yard, "churn", 2, data=recent_raw, store=False, **FAST)
    assert a.result["models"]["challenger"]["metrics"] == b.result["models"]["challenger"]["metrics"]


def test_challenger_equal_to_champion_is_refused(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    from modelyard import UsageError

    with pytest.raises(UsageError, match="churn/v1 is the version it would be compared with"):
        evaluate(evaluated_yard, "churn", 1, **FAST)


def test_budget_gates_read_the_handoff_check(evaluated_yard) -> None:  # type: ignore[no-untyped-def]
    with evaluated_yard.store.writing() as conn:
        Store.save_check_result(
            conn, "churn", 2, passed=True, result={"measurements": {"latency_p99_ms": 80.0}}, now=utcnow()
        )
    ev = evaluate(evaluated_yard, "churn", 2, store=False, **FAST)
    [budget] = [g for g in ev.result["gates"] if g["kind"] == "budget"]
    assert budget["status"] == "fail"
    assert budget["reason"] == "latency_p99_ms <= 50.0 fails: latency_p99_ms = 80.0 (handoff check), bound 50"
    assert ev.verdict == "BLOCK"


def test_a_snapshot_id_is_evaluation_data(yard_root, store_url) -> None:  # type: ignore[no-untyped-def]
    """The evaluation reads a snapshot by id and records it as the data it used."""
    from modelyard import Settings, Yard
    from modelyard.data import build_snapshot
    from modelyard.demo import build_baseline
    from modelyard.demo._data import load_raw_churn, write_monthly_partitions
    from modelyard.demo.features import churn_features
    from modelyard.evaluate import evaluate

    raw = load_raw_churn()
    write_monthly_partitions(raw[raw.signup_date >= "2023-06-01"], yard_root / "data" / "churn")
    train = raw[raw.signup_date < "2023-06-01"]
    with Yard(Settings(root=yard_root, database_url=store_url)) as yard:
        yard.register("churn", build_baseline().fit(churn_features(train), train["churned"]))
        snapshot = build_snapshot(yard, "churn")
        result = evaluate(yard, "churn", 1, against=None, data=snapshot.id[:10], replicates=200)
        assert result.record is not None and result.record.data_ref == f"snapshot:{snapshot.id}"


def test_the_baseline_learns_from_the_challengers_training_snapshot(yard_root, store_url) -> None:  # type: ignore[no-untyped-def]
    """'Is it worth it' prices a logistic regression fitted on the challenger's own training rows."""
    from modelyard import Settings, Yard
    from modelyard.data import build_snapshot, read_snapshot, split_by_time
    from modelyard.demo import build_challenger
    from modelyard.demo._data import load_raw_churn, write_monthly_partitions
    from modelyard.evaluate import evaluate

    raw = load_raw_churn()
    write_monthly_partitions(raw[raw.signup_date >= "2022-01-01"], yard_root / "data" / "churn")
    with Yard(Settings(root=yard_root, database_url=store_url)) as yard:
        snapshot = build_snapshot(yard, "churn")
        train, recent = split_by_time(read_snapshot(yard, snapshot), "signup_date", fraction=0.7)
        inputs = list(yard.use_case("churn").input_names)
        model = build_challenger().fit(train[inputs], train["churned"])
        yard.register("churn", model, training_data=train[inputs], snapshot_id=snapshot.id)
        result = evaluate(yard, "churn", 1, against=None, data=recent, replicates=200, store=False)
    label = result.result["reference"]["label"]
    assert f"training snapshot {snapshot.short_id}, {len(train):,} rows, evaluation rows excluded" in label


@pytest.mark.parametrize(
    "features", ["support_code:reversed_churn_features", "support_code:fresh_index_churn_features"]
)
def test_feature_code_returning_rows_in_another_order_or_index_prices_the_same(
    evaluated_yard, recent_raw: pd.DataFrame, features: str
) -> None:  # type: ignore[no-untyped-def]
    """Scores are paired with labels by position: feature code that returned its rows reversed used to
    price every customer with another's label; one building a fresh index did so on a sampled frame."""
    yard = evaluated_yard
    data = recent_raw.sample(frac=1.0, random_state=3)  # labelled rows in a shuffled order
    expected = evaluate(yard, "churn", 2, data=data, replicates=200, store=False)
    spec = yard.settings.root / "usecases" / "churn.yaml"
    spec.write_text(spec.read_text().replace('"modelyard.demo.features:churn_features"', f'"{features}"'))
    again = evaluate(yard, "churn", 2, data=data, replicates=200, store=False)
    assert again.result["models"] == expected.result["models"]
    assert again.result["comparison"] == expected.result["comparison"]
