"""Evaluation data a compared version learnt from is refused, by its lineage, and nothing is stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelyard import Settings, Yard
from modelyard.data import Snapshot, build_snapshot, read_snapshot, split_by_time
from modelyard.demo import build_baseline
from modelyard.demo._data import write_monthly_partitions
from modelyard.evaluate import EvaluationError, evaluate
from modelyard.store import Store

Lineage = tuple[Yard, Snapshot, pd.DataFrame, pd.DataFrame]
FAST: dict[str, Any] = {"replicates": 200}
FIX = (
    "evaluate on rows from after the training period (--data, or data= in Python): a snapshot built later, "
    "or the later part from split_by_time(read_snapshot(yard, snapshot), 'signup_date')"
)


@pytest.fixture
def lineage(yard_root: Path, store_url: str, raw_churn: pd.DataFrame) -> Iterator[Lineage]:
    """v1 (production) and v2, logistic regressions fitted on the first 70% of snapshot S by sign-up and
    registered with S and that frame as lineage; S, and its rows split at the training cut."""
    write_monthly_partitions(raw_churn[raw_churn.signup_date >= "2022-01-01"], yard_root / "data" / "churn")
    with Yard(Settings(root=yard_root, database_url=store_url, author="tester")) as yard:
        snapshot = build_snapshot(yard, "churn")
        train, recent = split_by_time(read_snapshot(yard, snapshot), "signup_date", fraction=0.7)
        x, y = train[list(yard.use_case("churn").input_names)], train["churned"]
        for c in (1.0, 0.05):
            model = build_baseline().set_params(model__C=c).fit(x, y)
            yard.register("churn", model, training_data=x, snapshot_id=snapshot.id, code_folder=yard_root)
        yard.promote("churn", 1, reason="first production model")
        yield yard, snapshot, train, recent


def stored(yard: Yard) -> list[Any]:
    with yard.store.reading() as conn:
        return Store.list_evaluations(conn, "churn")


@pytest.mark.parametrize("baseline", [True, False])
def test_the_training_snapshot_is_refused_as_evaluation_data(lineage: Lineage, baseline: bool) -> None:
    """The probe's call: evaluate v2 on the snapshot it was registered with (it used to crash with an
    IndexError when fitting the reference, and to pass the roc_auc gate on training rows without one)."""
    yard, snapshot, _, recent = lineage
    message = (
        f"The evaluation data is snapshot {snapshot.short_id}, which the lineage of churn/v2 (challenger) and "
        f"churn/v1 (champion) names as training snapshot: scored on rows it learnt from, a model looks better "
        f"than it is and the gates would pass on that; {FIX}"
    )
    with pytest.raises(EvaluationError, match=f"^{re.escape(message)}$"):
        evaluate(yard, "churn", 2, data=snapshot.id[:10], baseline=baseline, **FAST)
    assert stored(yard) == []

    # the rows after the training period, from the same snapshot, are what to evaluate on
    ev = evaluate(yard, "churn", 2, data=recent, baseline=baseline, **FAST)
    assert ev.result["data"]["rows"] == len(recent) and [r.id for r in stored(yard)] == [ev.id]


def test_the_champions_training_snapshot_is_refused_too(lineage: Lineage) -> None:
    """Scored in-sample, the champion looks better than it is, and the comparison is as wrong."""
    yard, snapshot, train, _ = lineage
    x = train[list(yard.use_case("churn").input_names)]
    yard.register("churn", build_baseline().set_params(model__C=0.1).fit(x, train["churned"]))  # no lineage
    message = f"The evaluation data is snapshot {snapshot.short_id}, which the lineage of churn/v1 (champion) names"
    with pytest.raises(EvaluationError, match=f"^{re.escape(message)} as training snapshot: "):
        evaluate(yard, "churn", 3, data=snapshot.id, **FAST)
    assert stored(yard) == []


def test_the_training_frame_is_refused_by_its_hash(lineage: Lineage) -> None:
    yard, _, train, _ = lineage
    digest = yard.model("churn", 2).training_data_hash
    assert digest is not None
    message = (
        "The evaluation data is the frame churn/v2 (challenger) and churn/v1 (champion) learnt from: its inputs "
        f"hash to the lineage's training_data_hash {digest[:12]}: scored on rows"
    )
    with pytest.raises(EvaluationError, match=f"^{re.escape(message)}"):
        evaluate(yard, "churn", 2, data=train, **FAST)
    assert stored(yard) == []


def test_data_holding_every_row_of_the_training_snapshot_is_refused(lineage: Lineage) -> None:
    """The snapshot's rows as a frame, shuffled, with rows it lacks: every training row is in it."""
    yard, snapshot, _, _ = lineage
    rows = read_snapshot(yard, snapshot)
    data = pd.concat(
        [rows.sample(frac=1.0, random_state=0), rows.tail(50).assign(customer_id=lambda f: f.customer_id + "-new")]
    )
    message = (
        f"The evaluation data holds all {len(rows):,} rows of snapshot {snapshot.short_id} (matched by customer_id), "
        "which the lineage of churn/v2 (challenger) and churn/v1 (champion) names as training snapshot: "
    )
    for baseline in (True, False):
        with pytest.raises(EvaluationError, match=f"^{re.escape(message)}"):
            evaluate(yard, "churn", 2, data=data, baseline=baseline, **FAST)
    assert stored(yard) == []


def test_the_reference_is_cross_fitted_when_the_training_snapshot_has_too_few_other_rows(lineage: Lineage) -> None:
    """Where fitting on the training snapshot used to crash (no rows left) or call the training rows
    'the evaluation data', the reference is cross-fitted and says why. (Rows shared with a training
    snapshot are refused only when they are all of it: a time split shares rows legitimately.)"""
    yard, snapshot, _, _ = lineage
    rows = read_snapshot(yard, snapshot)
    ev = evaluate(yard, "churn", 2, against=None, data=rows.iloc[:-30], store=False, **FAST)
    label = ev.result["reference"]["label"]
    positives = int(rows.iloc[-30:]["churned"].sum())
    assert label == (
        f"logistic regression (cross-fitted on these rows; churn/v2's training snapshot {snapshot.short_id} has "
        f"30 labelled rows besides the evaluation rows ({positives} positive), too few to fit on: it needs 50 rows "
        "holding both classes)"
    )
