"""Latency: the p99 against the budget, and a slow model not called 200 times for a certain verdict."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from modelyard.check._latency import latency_check, measure_latency, over_budget_needed
from modelyard.check._result import Status


def test_over_budget_needed_is_the_fewest_values_that_decide_the_p99() -> None:
    assert over_budget_needed(200) == 3
    for calls in range(1, 400):
        needed = over_budget_needed(calls)
        decided = np.r_[np.zeros(calls - needed), np.full(needed, 1.0 + 1e-9)]
        assert np.percentile(decided, 99) > 1.0, calls
        if needed > 1:  # one value fewer, only just over the budget, can leave the p99 under it
            undecided = np.r_[np.zeros(calls - needed + 1), np.full(needed - 1, 1.0 + 1e-9)]
            assert np.percentile(undecided, 99) <= 1.0, calls


def _sleeper(seconds: float, calls: list[int]):  # type: ignore[no-untyped-def]
    def score(frame: pd.DataFrame) -> np.ndarray:
        calls.append(len(frame))
        time.sleep(seconds)
        return np.zeros(len(frame))

    return score


def test_a_model_over_the_budget_stops_once_the_p99_is_decided(features: pd.DataFrame) -> None:
    calls: list[int] = []
    latency = measure_latency(_sleeper(0.01, calls), features, seconds=0.05, min_calls=200, budget_ms=1.0)
    single = [n for n in calls if n == 1]
    assert latency.calls < 200 and latency.p99_ms > 1.0
    assert len(single) < 100  # warm-up included; 220 one-row calls without the stop
    assert latency.stopped_early is not None and latency.stopped_early.startswith(f"stopped after {latency.calls} ")
    row = latency_check(latency, 1.0, 1)
    assert row.status == Status.FAIL
    assert "whatever the rest take" in row.message and "of 200 calls" in row.message


def test_a_model_under_the_budget_makes_every_call(features: pd.DataFrame) -> None:
    calls: list[int] = []
    latency = measure_latency(_sleeper(0.0005, calls), features, seconds=0.01, min_calls=50, budget_ms=500.0)
    assert latency.calls >= 50 and latency.stopped_early is None
    assert latency_check(latency, 500.0, 1).status == Status.PASS


def test_without_a_budget_a_slow_model_stops_on_time(features: pd.DataFrame, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modelyard.check import _latency

    monkeypatch.setattr(_latency, "NO_BUDGET_MAX_SECONDS", 0.1)
    latency = measure_latency(_sleeper(0.02, []), features, seconds=0.01, min_calls=200)
    assert latency.calls < 200 and latency.stopped_early == f"stopped after {latency.calls} of 200 calls, at 0.1 s"
    row = latency_check(latency, None, 1)
    assert row.status == Status.PASS and "no latency budget set" in row.message


def test_a_model_within_its_budget_gets_every_warm_up_and_batch_call(features: pd.DataFrame) -> None:
    """The time limits apply to calls over the budget only: a model within it is called as before."""
    calls: list[int] = []
    latency = measure_latency(_sleeper(0.002, calls), features, seconds=0.001, min_calls=30, budget_ms=500.0)
    single = [n for n in calls if n == 1]
    assert len(single) == 20 + latency.calls and latency.calls == 30
    assert len([n for n in calls if n == 100]) == 1 + 15


def test_batch_equals_single_stops_early_only_for_a_model_over_its_budget(features: pd.DataFrame, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modelyard.check import _determinism
    from modelyard.check._determinism import determinism_checks

    monkeypatch.setattr(_determinism, "SINGLE_SECONDS", 0.01)
    score = _sleeper(0.002, [])
    first = score(features)
    within = determinism_checks(score, features, first, budget_ms=500.0)[1]
    assert within.status == Status.PASS and within.message == "100 rows in a batch vs alone agree"
    over = determinism_checks(score, features, first, budget_ms=0.5)[1]
    assert over.status == Status.PASS and over.message.startswith("10 rows in a batch vs alone (the first 10 of 100")
