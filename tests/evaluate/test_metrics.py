"""Metrics agree with a brute-force twin on random data, and with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
)
from sklearn.metrics import (
    log_loss as sk_log_loss,
)

from modelyard.evaluate import _metrics as m


def brute_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    num = sum(w[i] * w[j] * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0) for i in pos for j in neg)
    return num / (w[pos].sum() * w[neg].sum())


def brute_ap(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    total = w[y].sum()
    ap, previous_recall = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        acted = s >= t
        tp, fp = w[acted & y].sum(), w[acted & ~y].sum()
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / total
        ap += (recall - previous_recall) * precision
        previous_recall = recall
    return ap


@st.composite
def labelled_scores(draw: st.DrawFn, weighted: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 40))
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if y.all() or not y.any():
        y[0] = not y[0]
    # few distinct values, so ties are common
    s = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n)))
    w = np.ones(n)
    if weighted:
        w = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=float)
    return y, s, w


@settings(max_examples=60, deadline=None)
@given(labelled_scores(weighted=True))
def test_roc_auc_and_average_precision_match_brute_force(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, s, w = data
    assert m.roc_auc(y, s, sample_weight=w) == pytest.approx(brute_auc(y, s, w))
    assert m.average_precision(y, s, sample_weight=w) == pytest.approx(brute_ap(y, s, w))


@settings(max_examples=60, deadline=None)
@given(labelled_scores(weighted=True))
def test_equal_to_scikit_learn(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, s, w = data
    assert m.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert m.roc_auc(y, s, sample_weight=w) == pytest.approx(roc_auc_score(y, s, sample_weight=w))
    assert m.average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert m.average_precision(y, s, sample_weight=w) == pytest.approx(average_precision_score(y, s, sample_weight=w))
    assert m.brier_score(y, s, sample_weight=w) == pytest.approx(brier_score_loss(y, s, sample_weight=w))


def test_log_loss_equals_scikit_learn_on_open_interval_scores() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.3
    s = rng.uniform(0.01, 0.99, 500)
    assert m.log_loss(y, s) == pytest.approx(sk_log_loss(y, s))


@settings(max_examples=40, deadline=None)
@given(labelled_scores(), st.randoms(use_true_random=False))
def test_invariant_to_row_order(data: tuple[np.ndarray, np.ndarray, np.ndarray], random: object) -> None:
    y, s, _ = data
    perm = np.random.default_rng(random.randint(0, 2**31)).permutation(len(y))  # type: ignore[attr-defined]
    for fn in (m.roc_auc, m.average_precision, m.log_loss, m.brier_score, m.expected_calibration_error):
        assert fn(y[perm], s[perm]) == pytest.approx(fn(y, s))


@settings(max_examples=40, deadline=None)
@given(labelled_scores())
def test_auc_is_symmetric_under_label_and_score_flip(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, s, _ = data
    assert m.roc_auc(~y, 1 - s) == pytest.approx(m.roc_auc(y, s))
    assert m.roc_auc(y, 1 - s) == pytest.approx(1 - m.roc_auc(y, s))


def test_two_dimensional_weights_give_one_value_per_row_of_weights() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    s = rng.random(300)
    w = rng.integers(0, 3, size=(5, 300)).astype(float)
    for fn in (m.roc_auc, m.average_precision, m.log_loss, m.brier_score, m.expected_calibration_error):
        many = fn(y, s, sample_weight=w)
        assert many.shape == (5,)
        assert many == pytest.approx([fn(y, s, sample_weight=row) for row in w])
    acted = s >= 0.5
    many = m.threshold_metrics(y, acted, sample_weight=w)
    for k, row in enumerate(w):
        one = m.threshold_metrics(y, acted, sample_weight=row)
        assert {name: v[k] for name, v in many.items()} == pytest.approx(one)


def test_threshold_metrics_from_counts() -> None:
    y = np.array([1, 1, 0, 0, 0], dtype=bool)
    acted = np.array([1, 0, 1, 0, 0], dtype=bool)
    out = m.threshold_metrics(y, acted)
    assert out["precision"] == 0.5
    assert out["recall"] == 0.5
    assert out["false_positive_rate"] == pytest.approx(1 / 3)
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["f1"] == pytest.approx(0.5)


def test_calibration_of_calibrated_scores_is_close() -> None:
    rng = np.random.default_rng(1)
    s = rng.random(200_000)
    y = rng.random(200_000) < s
    assert m.expected_calibration_error(y, s) < 0.01
    bins = m.calibration_curve(y, s)
    assert len(bins) == 10
    assert all(abs(b["positive_rate"] - b["mean_score"]) < 0.02 for b in bins)


def test_one_class_gives_nan() -> None:
    assert np.isnan(m.roc_auc([1, 1], [0.2, 0.3]))
    assert np.isnan(m.average_precision([0, 0], [0.2, 0.3]))
