"""The bootstrap: bounded chunks, paired differences, honest coverage."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.evaluate import bootstrap_sums, interval, paired_cost_bootstrap, resample_indices
from modelyard.evaluate._bootstrap import bootstrap_counts


def test_chunks_stay_under_the_memory_bound() -> None:
    chunks = list(resample_indices(10_000, 1000, seed=0, max_elements=50_000))
    assert sum(c.shape[0] for c in chunks) == 1000
    assert all(c.size <= 50_000 for c in chunks)
    assert all(c.min() >= 0 and c.max() < 10_000 for c in chunks)


def test_same_seed_same_rows() -> None:
    a = bootstrap_sums(np.arange(100.0), 200, seed=5)
    b = bootstrap_sums(np.arange(100.0), 200, seed=5)
    assert (a == b).all()


def test_counts_and_sums_draw_the_same_rows() -> None:
    values = np.random.default_rng(0).random(500)
    sums = bootstrap_sums(values, 300, seed=9)[:, 0]
    via_counts = bootstrap_counts(500, 300, 9, lambda counts: {"sum": counts @ values})["sum"]
    assert sums == pytest.approx(via_counts)


def test_paired_difference_is_tighter_than_separate_intervals() -> None:
    rng = np.random.default_rng(1)
    base = rng.exponential(100, 5000)
    a = base + rng.normal(0, 1, 5000)
    b = base + 2.0 + rng.normal(0, 1, 5000)
    out = paired_cost_bootstrap(a, b, replicates=500, seed=0)
    diff = out["difference"]
    assert diff.value == pytest.approx(a.sum() - b.sum())
    assert diff.low < diff.value < diff.high < 0
    assert out["probability_a_cheaper"] == 1.0
    separate = interval(a.sum(), bootstrap_sums(a, 500, seed=0)[:, 0])
    assert (diff.high - diff.low) < 0.1 * (separate.high - separate.low)


def test_interval_covers_the_truth_most_of_the_time() -> None:
    rng = np.random.default_rng(2)
    hits = 0
    for trial in range(60):
        x = rng.exponential(1.0, 400)
        iv = interval(x.mean(), bootstrap_sums(x, 300, seed=trial)[:, 0] / 400)
        hits += iv.low <= 1.0 <= iv.high
    assert hits >= 50  # nominal 95%: 57 of 60 expected
