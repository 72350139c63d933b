"""Feasibility on tasks whose best attainable AUC is known, and on the real churn data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import curve_fit
from scipy.stats import norm

from modelyard import UsageError
from modelyard.board import MIN_ROWS, Target, study_feasibility
from modelyard.board._feasibility import fit_power_law


def two_gaussians(rows: int, dims: int, separation: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two classes N(0, I) and N(δ, I) with |δ| = separation: the Bayes-optimal AUC is Φ(separation/√2)."""
    rng = np.random.default_rng(seed)
    y = rng.random(rows) < 0.3
    x = rng.normal(size=(rows, dims)) + np.outer(y, np.full(dims, separation / np.sqrt(dims)))
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(dims)]), y.astype(int)


@pytest.mark.parametrize(("separation", "seed"), [(0.8, 0), (1.2, 1), (1.8, 2)])
def test_the_intervals_bracket_the_best_attainable_auc(separation: float, seed: int) -> None:
    best = float(norm.cdf(separation / np.sqrt(2)))
    x, y = two_gaussians(3000, 8, separation, seed)
    result = study_feasibility(x, y, Target("roc_auc", ">=", best - 0.05), models=("logistic",), seed=seed)
    five, ceiling, today = result.prediction("5x"), result.prediction("ceiling"), result.prediction("today")
    # logistic regression is the Bayes rule here: with 5× the data it is at the optimum
    assert five.low <= best <= five.high
    assert ceiling.low <= best <= ceiling.high
    assert five.high - five.low < 0.05
    assert today.estimate <= best + 0.02
    assert today.probability > 0.9  # 5 points below the optimum is well within reach


def test_the_curve_predicts_what_more_data_buys_when_data_is_scarce() -> None:
    """30 features, 400 rows: the curve must say more data helps, and by about what a fresh 5× sample gives."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x, y = two_gaussians(400, 30, 1.5, 3)
    result = study_feasibility(x, y, Target("roc_auc", ">=", 0.8), models=("logistic",), seed=3)
    today, five = result.prediction("today"), result.prediction("5x")
    assert five.estimate > today.estimate
    # the truth at 5×: train on fresh 2,000-row samples, score on a big test set
    test_x, test_y = two_gaussians(20_000, 30, 1.5, 99)
    truths = [
        roc_auc_score(
            test_y, LogisticRegression(max_iter=2000).fit(*two_gaussians(2000, 30, 1.5, s)).predict_proba(test_x)[:, 1]
        )
        for s in (10, 11, 12)
    ]
    assert five.low - 0.01 <= float(np.mean(truths)) <= five.high + 0.01


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(0.05, 2.0),
    b=st.floats(0.05, 2.5),
    c=st.floats(0.0, 0.4),
    noise=st.floats(0.0, 0.01),
    seed=st.integers(0, 1000),
)
def test_the_power_law_fit_agrees_with_scipy_curve_fit(a: float, b: float, c: float, noise: float, seed: int) -> None:
    """The grid-exact solver against scipy's general least squares on the same bounded problem."""
    sizes = np.array([240.0, 360, 528, 792, 1200, 1680, 2400])
    err = a * (sizes / sizes[0]) ** -b + c + np.random.default_rng(seed).normal(0, noise, len(sizes))
    (ours,) = fit_power_law(sizes, err[None, :], sizes[0])
    upper = max(err.min(), 1e-12)

    def model(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a * (n / sizes[0]) ** -b + c

    sse = lambda p: float(((model(sizes, *p) - err) ** 2).sum())  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs, _ = curve_fit(
                model, sizes, err, p0=(a, b, min(c, upper)), bounds=([0, 0.01, 0], [np.inf, 3, upper])
            )
        except RuntimeError:
            return
    assert sse(ours) <= sse(theirs) * 1.01 + 1e-6  # b on a grid: RMS within 4e-4
    if noise == 0.0 and c < upper:
        assert np.allclose(model(sizes, *ours), err, atol=1e-3)


def test_too_little_data_says_how_much_is_needed() -> None:
    x, y = two_gaussians(120, 3, 1.0, 0)
    with pytest.raises(
        UsageError, match=rf"needs at least {MIN_ROWS} labelled rows with 50 of the rarer class; the data has 120 rows"
    ):
        study_feasibility(x, y, Target("roc_auc", ">=", 0.7))


def test_a_metric_learning_curves_cannot_measure_is_refused() -> None:
    x, y = two_gaussians(400, 3, 1.0, 0)
    with pytest.raises(UsageError, match=r"Feasibility cannot measure 'expected_cost'.*roc_auc, pr_auc"):
        study_feasibility(x, y, Target("expected_cost", "<=", 100.0))


def test_on_churn_both_baselines_give_curves_a_plot_and_a_stored_study(sqlite_board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = sqlite_board
    from modelyard.demo._data import load_raw_churn

    data = tmp_path / "customers.parquet"
    load_raw_churn().iloc[:1200].to_parquet(data)
    item = board.add_item("Is churn learnable?", owner="carol@research", use_case="churn")
    result = board.feasibility(
        "churn", "roc_auc>=0.8", data=data, item=item.id, plot=tmp_path / "curve.png", bootstrap=100, folds=3
    )
    assert {c.model for c in result.curves} == {"logistic", "boosting"}
    today = result.prediction("today")
    assert 0.75 < today.estimate < 0.9 and today.low <= today.estimate <= today.high
    assert 0.0 <= today.probability <= 1.0
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    (study,) = [u for u in board.updates(item.id) if u.kind == "feasibility"]
    assert study.data["target"] == "roc_auc >= 0.8" and study.text == result.headline


def test_bad_feasibility_inputs_fail_before_any_work(board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=r"names an unknown metric 'auc'"):
        board.feasibility("churn", "auc>=0.7")
    with pytest.raises(UsageError, match=r"No data for a learning curve at .*customers.parquet; pass --data FILE"):
        board.feasibility("churn", "roc_auc>=0.7")
    with pytest.raises(Exception, match=r"No research item 'RI-4'"):
        board.feasibility("churn", "roc_auc>=0.7", item="RI-4")
