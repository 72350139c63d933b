"""Feasibility on tasks whose best attainable AUC is known, and on the real churn data, split in time."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from scipy.optimize import curve_fit
from scipy.stats import norm

from modelyard import UsageError
from modelyard.board import MIN_ROWS, Target, study_feasibility
from modelyard.board._feasibility import ceiling_identified, fit_power_law
from modelyard.board._render import feasibility_table


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


def test_a_curve_that_has_not_flattened_reports_its_ceiling_as_unknown(tmp_path: Path) -> None:
    """30 features, 400 rows: the fit puts c on 0 (an AUC of 1.0 with unlimited data, where the best
    attainable is 0.856); the data do not say where the curve ends, so the study says it does not know."""
    x, y = two_gaussians(400, 30, 1.5, 3)
    result = study_feasibility(x, y, Target("roc_auc", ">=", 0.8), models=("logistic",), seed=3)
    assert result.curves[0].params[2] == 0.0  # the fitted ceiling parameter sits on its bound
    ceiling = result.prediction("ceiling")
    assert (ceiling.estimate, ceiling.low, ceiling.high, ceiling.probability) == (None, None, None, None)
    assert ceiling.note == "unknown: the learning curve of logistic has not flattened yet"
    assert result.to_dict()["predictions"][-1] == {
        "label": "ceiling",
        "rows": None,
        "estimate": None,
        "low": None,
        "high": None,
        "probability": None,
        "model": "logistic",
        "note": "unknown: the learning curve of logistic has not flattened yet",
    }
    assert all(p.estimate is not None for p in result.predictions[:3])  # the sizes measured around stay
    console = Console(record=True, width=200)
    console.print(feasibility_table(result))
    (row,) = [line for line in console.export_text().splitlines() if "ceiling" in line]
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == ["ceiling", "∞", "unknown", "—", "—", "the learning curve of logistic has not flattened yet"]
    assert result.plot(tmp_path / "curve.svg").stat().st_size > 1_000


@pytest.mark.parametrize(
    ("params", "known"),
    [((0.1, 0.5, 0.2), True), ((0.1, 0.5, 0.0), False), ((0.1, 0.01, 0.2), False), ((0.0, 3.0, 0.25), True)],
)
def test_a_ceiling_is_known_only_off_the_bounds_of_the_fit(params: tuple[float, float, float], known: bool) -> None:
    assert ceiling_identified(params) is known


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
    assert 0.6 < today.estimate < 0.9 and today.low <= today.estimate <= today.high
    assert today.probability is not None and 0.0 <= today.probability <= 1.0
    ceiling = result.prediction("ceiling")  # both curves flatten on these rows: the ceiling is a number
    assert ceiling.note is None and ceiling.low <= ceiling.estimate <= ceiling.high  # type: ignore[operator]
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    (study,) = [u for u in board.updates(item.id) if u.kind == "feasibility"]
    assert study.data["target"] == "roc_auc >= 0.8" and study.text == result.headline
    # the spec names data.time: the study says it validated on later rows, everywhere it is shown
    assert result.headline.endswith("; time-ordered split on signup_date")
    assert study.data["split"]["kind"] == "time" and study.data["split"]["column"] == "signup_date"
    assert study.data["split"]["description"].startswith(
        "time-ordered on signup_date: 3 folds validate on consecutive blocks of the newest 20% of rows ("
    )
    console = Console(record=True, width=200)
    console.print(feasibility_table(result))
    assert "split: time-ordered on signup_date: 3 folds" in console.export_text()


def test_on_churn_the_study_agrees_with_a_time_based_holdout_and_random_folds_do_not(tmp_path: Path) -> None:
    """The mistake modelyard exists to prevent: random folds on data that drifts in time."""
    from sklearn.metrics import roc_auc_score

    from modelyard.board._feasibility import _baseline
    from modelyard.demo._data import load_raw_churn
    from modelyard.demo.features import churn_features

    raw = load_raw_churn().sample(frac=1.0, random_state=0)  # any row order: the study sorts by time
    x, y = churn_features(raw).reset_index(drop=True), raw["churned"].to_numpy().astype(int)
    target = Target("roc_auc", ">=", 0.8)
    timed = study_feasibility(
        x, y, target, times=raw["signup_date"], time_column="signup_date", models=("logistic",), bootstrap=100
    )
    randomly = study_feasibility(x, y, target, models=("logistic",), bootstrap=100)
    # the truth: the same baseline trained on the older 80% by sign-up, scored on the newest 20%
    order = np.argsort(raw["signup_date"].to_numpy(), kind="stable")
    cut = int(len(order) * 0.8)
    old, new = order[:cut], order[cut:]
    fitted = _baseline("logistic", x, 0).fit(x.iloc[old], y[old])
    truth = roc_auc_score(y[new], fitted.predict_proba(x.iloc[new])[:, 1])  # 0.760
    today = timed.prediction("today")
    assert abs(today.estimate - truth) < 0.02 and today.low - 0.01 <= truth <= today.high
    assert (timed.split.kind, randomly.split.kind) == ("time", "random")
    assert randomly.prediction("today").estimate > truth + 0.06  # 0.845: what the random split promised
    assert randomly.headline.endswith("; random folds (no time column)")


class _Recorder:
    """A baseline that notes the latest time it trained on and the earliest time it was scored on."""

    seen: ClassVar[list[tuple[float, float]]] = []

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> _Recorder:
        from sklearn.linear_model import LogisticRegression

        self.latest = float(x["t"].max())
        self.model = LogisticRegression().fit(x, y)
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        _Recorder.seen.append((self.latest, float(x["t"].min())))
        return self.model.predict_proba(x)


def test_every_fit_trains_on_earlier_rows_than_it_is_scored_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelyard.board._feasibility as feasibility

    x, y = two_gaussians(1000, 3, 1.0, 4)
    rng = np.random.default_rng(4)
    times = rng.integers(0, 200, size=len(y))  # many rows share a time
    x["t"] = times.astype(float)
    _Recorder.seen = []
    monkeypatch.setattr(feasibility, "_baseline", lambda name, x, seed: _Recorder())
    result = study_feasibility(x, y, Target("roc_auc", ">=", 0.7), times=times, models=("logistic",), bootstrap=20)
    assert len(_Recorder.seen) == 5 * len(result.curves[0].sizes)
    assert all(latest < earliest for latest, earliest in _Recorder.seen)
    # the windows grow back in time from each block: the smallest is the most recent
    assert result.split.description.startswith("time-ordered on time: 5 folds validate on consecutive blocks")


def test_a_time_ordered_study_does_not_depend_on_the_row_order() -> None:
    x, y = two_gaussians(600, 4, 1.2, 5)
    times = pd.date_range("2024-01-01", periods=len(y), freq="h")
    target = Target("roc_auc", ">=", 0.7)
    first = study_feasibility(x, y, target, times=times, models=("logistic",), bootstrap=50)
    shuffled = np.random.default_rng(5).permutation(len(y))
    second = study_feasibility(
        x.iloc[shuffled], y[shuffled], target, times=times[shuffled], models=("logistic",), bootstrap=50
    )
    assert first.predictions == second.predictions
    assert first.curves[0].mean == second.curves[0].mean


@pytest.mark.parametrize(
    ("times", "options", "message"),
    [
        (
            lambda n: pd.Series(pd.date_range("2024-01-01", periods=n, freq="D")).where(np.arange(n) % 100 != 0),
            {},
            r"The time column 'time' is empty in 4 of 400 rows, which cannot be put in time order; fill those",
        ),
        (lambda n: ["2024-01-01"] * (n - 1), {}, r"The 'times' parameter must hold one time per row \(400\)\. Got 399"),
        (
            lambda n: ["soon"] * n,
            {},
            r"The time column 'time' does not hold times or numbers \(e\.g\. 'soon'\); name the column",
        ),
        (lambda n: np.arange(n), {"holdout": 0.9}, r"The 'holdout' parameter must be in \[0\.05, 0\.5\]\. Got 0\.9"),
        (
            lambda n: np.arange(n) // 80,
            {},
            r"The time-ordered split of data on 'time' cannot cut the newest 20% of the rows into 5 blocks, each "
            r"starting at a new time with earlier rows to train on: those rows hold 1 distinct times, and 320 rows "
            r"come before 4\. Use fewer folds \(e\.g\. folds=3\), or data spanning more times",
        ),
    ],
)
def test_bad_times_are_refused_with_the_fix(times, options, message) -> None:  # type: ignore[no-untyped-def]
    x, y = two_gaussians(400, 3, 1.0, 0)
    with pytest.raises(UsageError, match=message):
        study_feasibility(x, y, Target("roc_auc", ">=", 0.7), times=times(len(y)), **options)


def test_a_later_block_of_one_class_is_refused_with_the_fix() -> None:
    x, y = two_gaussians(400, 3, 1.0, 0)
    y[-40:] = 0  # the newest rows: no positive in the last block
    with pytest.raises(
        UsageError,
        match=r"The time-ordered split of data on 'time' needs both classes in each of its 5 later blocks; the "
        r"block 368 to 383 holds 16 rows, all negative\. Use fewer folds \(e\.g\. folds=3\), a larger holdout",
    ):
        study_feasibility(x, y, Target("roc_auc", ">=", 0.7), times=np.arange(len(y)))


def test_a_time_column_the_data_lacks_is_named_with_the_fix(sqlite_board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from modelyard.demo._data import load_raw_churn

    data = tmp_path / "no-times.parquet"
    load_raw_churn().drop(columns=["signup_date"]).iloc[:400].to_parquet(data)
    with pytest.raises(
        UsageError,
        match=r"has no time column 'signup_date' \(data\.time of churn\), so the learning curve cannot validate on "
        r"later rows; point --data at a file with that column",
    ):
        sqlite_board.feasibility("churn", "roc_auc>=0.7", data=data)


def test_bad_feasibility_inputs_fail_before_any_work(board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=r"names an unknown metric 'auc'"):
        board.feasibility("churn", "auc>=0.7")
    with pytest.raises(UsageError, match=r"No data for a learning curve at .*customers.parquet; pass --data FILE"):
        board.feasibility("churn", "roc_auc>=0.7")
    with pytest.raises(Exception, match=r"No research item 'RI-4'"):
        board.feasibility("churn", "roc_auc>=0.7", item="RI-4")
