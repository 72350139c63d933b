"""The cost curve equals a brute-force sum at every threshold; its optimum is the analytic one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.evaluate import EvaluationError, RowCosts, cost_at, cost_curve, cross_fit_decisions, row_costs
from modelyard.spec import CostOverrides, Segment


def brute_cost(s: np.ndarray, costs: RowCosts, t: float) -> float:
    return float(sum(costs.act[i] if s[i] >= t else costs.rest[i] for i in range(len(s))))


@st.composite
def scored_rows(draw: st.DrawFn) -> tuple[np.ndarray, RowCosts]:
    n = draw(st.integers(1, 40))
    s = np.array(draw(st.lists(st.sampled_from([0.0, 0.2, 0.4, 0.41, 0.8, 1.0]), min_size=n, max_size=n)))
    amounts = st.floats(0, 100, allow_nan=False)
    act = np.array(draw(st.lists(amounts, min_size=n, max_size=n)))
    rest = np.array(draw(st.lists(amounts, min_size=n, max_size=n)))
    return s, RowCosts(act=act, rest=rest)


@settings(max_examples=80, deadline=None)
@given(scored_rows())
def test_cost_curve_matches_brute_force_at_every_threshold(data: tuple[np.ndarray, RowCosts]) -> None:
    s, costs = data
    curve = cost_curve(s, costs)
    assert np.isinf(curve.thresholds[0])
    assert curve.costs[0] == pytest.approx(costs.rest.sum())
    assert list(curve.thresholds[1:]) == sorted(set(s.tolist()), reverse=True)
    for t, c in zip(curve.thresholds, curve.costs, strict=True):
        assert c == pytest.approx(brute_cost(s, costs, t), abs=1e-9)
        if np.isfinite(t):
            assert c == pytest.approx(cost_at(s, costs, t), abs=1e-9)
    brute_best = min([costs.rest.sum()] + [brute_cost(s, costs, t) for t in set(s.tolist())])
    assert curve.best_cost == pytest.approx(brute_best, abs=1e-9)


@pytest.mark.parametrize(("c_fp", "c_fn"), [(1.0, 1.0), (1.0, 4.0), (10.0, 1.0)])
def test_calibrated_scores_give_the_analytic_threshold(c_fp: float, c_fn: float) -> None:
    """Elkan (2001): with calibrated scores, act when p >= c_FP / (c_FP + c_FN)."""
    rng = np.random.default_rng(7)
    n = 400_000
    s = rng.random(n)
    y = rng.random(n) < s
    amounts = {
        "true_positive": np.zeros(n),
        "false_positive": np.full(n, c_fp),
        "true_negative": np.zeros(n),
        "false_negative": np.full(n, c_fn),
    }
    curve = cost_curve(s, RowCosts.from_amounts(y, amounts))
    assert curve.best_threshold == pytest.approx(c_fp / (c_fp + c_fn), abs=0.03)


def test_cross_fitting_uses_the_other_fold_threshold() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    s = rng.random(n)
    y = rng.random(n) < s
    costs = RowCosts.from_amounts(
        y,
        {
            "true_positive": np.zeros(n),
            "false_positive": np.ones(n),
            "true_negative": np.zeros(n),
            "false_negative": np.full(n, 3.0),
        },
    )
    folds = rng.permutation(np.arange(n) % 2)
    acted, thresholds = cross_fit_decisions(s, costs, folds)
    assert len(thresholds) == 2
    for k, t in enumerate(thresholds):
        assert t == pytest.approx(0.25, abs=0.05)
        assert (acted[folds == k] == (s[folds == k] >= t)).all()


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.DataFrame(
        {
            "contract": ["Month-to-month", "One year", "Two year", "Month-to-month"],
            "monthly_charges": [10.0, 20.0, 30.0, 40.0],
        }
    )
    return df, np.array([True, False, False, True])


def test_row_costs_apply_expressions_and_segment_overrides(spec, frame) -> None:  # type: ignore[no-untyped-def]
    df, y = frame
    costs, masks = row_costs(spec, df, y)
    assert masks["long_contract"].tolist() == [False, True, True, False]
    # positives: act = TP = 50 + 3.6 * charges, rest = FN = 12 * charges
    assert costs.act[[0, 3]].tolist() == pytest.approx([86.0, 194.0])
    assert costs.rest[[0, 3]].tolist() == pytest.approx([120.0, 480.0])
    # negatives in the long-contract segment: a false positive costs 120 there, not 50
    assert costs.act[[1, 2]].tolist() == [120.0, 120.0]
    assert costs.rest[[1, 2]].tolist() == [0.0, 0.0]


def test_negative_amounts_are_refused_with_count_and_example(spec, frame) -> None:  # type: ignore[no-untyped-def]
    df, y = frame
    bad = spec.model_copy(update={"costs": spec.costs.model_copy(update={"false_negative": "monthly_charges - 25"})})
    with pytest.raises(
        EvaluationError, match=r"cost false_negative gives negative amounts in 2 of 4 rows \(e.g. row 0"
    ):
        row_costs(bad, df, y)
    costs, _ = row_costs(bad, df, y, allow_negative=True)
    assert costs.rest[0] == -15.0


def test_missing_amounts_are_refused(spec, frame) -> None:  # type: ignore[no-untyped-def]
    df, y = frame
    df = df.assign(monthly_charges=[10.0, np.nan, 30.0, np.nan])
    with pytest.raises(EvaluationError, match=r"cost true_positive = .* is missing or infinite in 2 of 4 rows"):
        row_costs(spec, df, y)


def test_a_segment_filter_on_a_missing_column_names_it(spec, frame) -> None:  # type: ignore[no-untyped-def]
    df, y = frame
    bad = spec.model_copy(update={"segments": [Segment(name="gold", filter="plan == 'gold'")]})
    with pytest.raises(EvaluationError, match=r"segment 'gold': .*uses column 'plan', which is not in the data"):
        row_costs(bad, df, y)


def test_an_empty_segment_is_refused(spec, frame) -> None:  # type: ignore[no-untyped-def]
    df, y = frame
    seg = Segment(name="huge", filter="monthly_charges > 1000", costs=CostOverrides(false_positive=1.0))
    bad = spec.model_copy(update={"segments": [seg]})
    with pytest.raises(EvaluationError, match=r"segment 'huge': filter .* matches none of the 4 rows"):
        row_costs(bad, df, y)
