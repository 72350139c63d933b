"""Is the problem solvable enough? Learning curves of quick baselines, extrapolated with intervals.

Split. Models are trained on the past and used on the future, so when the data has a time column
(the spec's ``data.time``) the study validates on later rows only: the newest :data:`TIME_HOLDOUT`
of the rows, in time order, is cut into ``folds`` consecutive blocks; each fold validates on one
block and trains on the rows just before it (no training row shares a time with its block). The
learning curve grows that training window back in time, so every size is scored the same way: on
the period right after its training data. A random split there would let a model learn from the
future of the rows it is scored on, and read as a better model than any will be in production
(on the demo's churn data: AUC 0.85 with random folds, 0.77 time-ordered, where a baseline trained
on the older 80% scores 0.76 on the newest 20%). Only without a time column are the folds random
(stratified), and the result says so.

Method. In each fold, quick baselines (logistic regression, gradient boosting) are trained on
growing training windows and scored on the fold's validation rows. Per baseline, the mean error
over folds at each training size is fitted with a power law ``err(n) = a·(n/n0)^(-b) + c``
(``err`` is 1 − metric for scores where higher is better, the metric itself for losses); ``c`` is
the error that more data cannot remove. Intervals come from a bootstrap over folds: folds are
resampled with replacement, the curve refitted, and the spread of its predictions read off, widened
by the Student-t factor of :func:`widening` because a bootstrap over five folds is too narrow
(measured: 90% intervals covered the known best AUC of synthetic tasks 68 times in 90 without it).
The probability of reaching the target at a data size is the share of bootstrap curves (of the
better baseline at that size) that reach it.

Ceiling. ``c`` is only known when the curve has started to flatten over the measured sizes. When the
fit puts ``c`` on its lower bound (no error left with unlimited data: an AUC of 1.0) or ``b`` on its
lowest value (a curve so straight in log n that ``a`` and ``c`` trade off freely), the data do not
say where the curve ends, and the ceiling is reported as unknown rather than as the bound.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from modelyard._exceptions import UsageError
from modelyard.board._records import Target

if TYPE_CHECKING:
    from modelyard.spec import UseCase

__all__ = [
    "FEASIBILITY_METRICS",
    "MIN_MINORITY",
    "MIN_ROWS",
    "TIME_HOLDOUT",
    "Curve",
    "FeasibilityResult",
    "Prediction",
    "Split",
    "load_use_case_data",
    "study_feasibility",
]

#: The fewest labelled rows, and rows of the rarer class, a learning curve is fitted on.
MIN_ROWS = 250
MIN_MINORITY = 50
DEFAULT_FRACTIONS = (0.1, 0.15, 0.22, 0.33, 0.5, 0.7, 1.0)
#: The share of the newest rows a time-ordered study validates on (cut into one block per fold).
TIME_HOLDOUT = 0.2
BASELINES = ("logistic", "boosting")

# metric → (score function on (y, p), higher is better)
FEASIBILITY_METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "roc_auc": (lambda y, p: float(roc_auc_score(y, p)), True),
    "pr_auc": (lambda y, p: float(average_precision_score(y, p)), True),
    "accuracy": (lambda y, p: float(accuracy_score(y, p >= 0.5)), True),
    "log_loss": (lambda y, p: float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])), False),
    "brier": (lambda y, p: float(brier_score_loss(y, p)), False),
}


@dataclass(frozen=True)
class Prediction:
    """The metric expected at one data size, with its interval and the chance it meets the target.

    The ceiling's numbers are None when a learning curve has not flattened yet (``note`` says which).
    """

    label: str
    rows: float  # math.inf for the ceiling
    estimate: float | None
    low: float | None
    high: float | None
    probability: float | None
    model: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rows": None if math.isinf(self.rows) else int(self.rows)}


@dataclass(frozen=True)
class Curve:
    """One baseline's learning curve: measured points and the fitted power law."""

    model: str
    sizes: list[int]
    mean: list[float]  # the metric, averaged over folds
    sd: list[float]
    params: tuple[float, float, float]  # a, b, c of err = a·(n/n0)^(-b) + c
    n0: int
    draws: np.ndarray = field(repr=False)  # bootstrap parameter draws, shape (B, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "sizes": self.sizes,
            "mean": self.mean,
            "sd": self.sd,
            "params": {"a": self.params[0], "b": self.params[1], "c": self.params[2], "n0": self.n0},
            "bootstrap_fits": len(self.draws),
        }


@dataclass(frozen=True)
class Split:
    """How the rows were split into training and validation rows, said so a reader can check it."""

    kind: str  # "time" (validate on later rows) or "random" (stratified folds; no time column)
    column: str | None
    description: str

    @property
    def short(self) -> str:
        if self.kind == "time":
            return f"time-ordered split on {self.column}"
        return "random folds (no time column)"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "description": self.description}


@dataclass(frozen=True)
class FeasibilityResult:
    """What more data would buy, per baseline and for the better of them."""

    use_case: str
    target: Target
    rows: int
    positives: int
    folds: int
    level: float
    curves: list[Curve]
    predictions: list[Prediction]  # today, 2×, 5×, ceiling (best baseline at each size)
    higher_is_better: bool
    split: Split
    widening: float = 1.0

    @property
    def headline(self) -> str:
        today = self.predictions[0]
        five = self.predictions[2]
        return (
            f"{self.target.metric} expected {today.estimate:.3f} "
            f"[{today.low:.3f}, {today.high:.3f}] with today's {self.rows:,} rows "
            f"({today.probability:.0%} chance of {self.target}); "
            f"{five.estimate:.3f} [{five.low:.3f}, {five.high:.3f}] with 5× the data ({five.probability:.0%}); "
            f"{self.split.short}"
        )

    def prediction(self, label: str) -> Prediction:
        return next(p for p in self.predictions if p.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "use_case": self.use_case,
            "target": str(self.target),
            "rows": self.rows,
            "positives": self.positives,
            "folds": self.folds,
            "interval_level": self.level,
            "split": self.split.to_dict(),
            "method": "power law err = a·(n/n0)^(-b) + c per baseline; bootstrap over folds, widened "
            "by the Student-t small-sample factor",
            "widening": self.widening,
            "predictions": [p.to_dict() for p in self.predictions],
            "curves": [c.to_dict() for c in self.curves],
            "headline": self.headline,
        }

    def plot(self, path: str | Path) -> Path:
        """Write the learning curves (PNG or SVG by the file's suffix)."""
        from modelyard.board._plot import plot_feasibility

        return plot_feasibility(self, Path(path))


def _power(n: Any, a: Any, b: Any, c: Any, n0: float) -> Any:
    return a * np.power(np.asarray(n, dtype=float) / n0, -b) + c


_B_GRID = np.geomspace(0.01, 3.0, 200)


def ceiling_identified(params: Sequence[float]) -> bool:
    """Whether a fitted ``(a, b, c)`` says where the curve ends: ``c`` off its lower bound 0 and ``b``
    off the lowest exponent of the grid (see the module's "Ceiling")."""
    _, b, c = params
    return bool(c > 1e-9 and b > _B_GRID[0] * (1 + 1e-9))


def _solve_ac(f: np.ndarray, e: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each b (the middle axis of ``f``), the exact box-bounded least-squares (a, c) and its SSE."""
    fm, em = f.mean(axis=2, keepdims=True), e.mean(axis=2, keepdims=True)
    var = ((f - fm) ** 2).sum(axis=2, keepdims=True)
    ff = (f * f).sum(axis=2, keepdims=True)
    a_free = ((f - fm) * (e - em)).sum(axis=2, keepdims=True) / var
    zero = np.zeros_like(a_free)
    candidates = [
        (a_free, em - a_free * fm),  # inside the box
        (zero, np.clip(em, 0.0, upper) + zero),  # on the edge a = 0
        (np.maximum((f * e).sum(axis=2, keepdims=True) / ff, 0.0), zero),  # on c = 0
        (np.maximum((f * (e - upper)).sum(axis=2, keepdims=True) / ff, 0.0), upper + zero),  # on c = upper
    ]
    best_sse = np.full(a_free.shape, np.inf)
    best_a, best_c = zero, zero
    for a, c in candidates:
        feasible = (a >= 0) & (c >= 0) & (c <= upper + 1e-12)
        sse = np.where(feasible, ((a * f + c - e) ** 2).sum(axis=2, keepdims=True), np.inf)
        better = sse < best_sse
        best_sse = np.where(better, sse, best_sse)
        best_a, best_c = np.where(better, a, best_a), np.where(better, c, best_c)
    return best_a[:, :, 0], best_c[:, :, 0], best_sse[:, :, 0]


def fit_power_law(sizes: np.ndarray, errors: np.ndarray, n0: float) -> np.ndarray:
    """Least-squares fits of ``err = a·(n/n0)^(-b) + c`` with a ≥ 0, b in [0.01, 3], 0 ≤ c ≤ min(err).

    ``errors`` has one row per curve (shape (R, k)); returns (R, 3) parameters. For a fixed b the
    model is linear in (a, c), so each b of a grid is solved exactly (the optimum of a box-bounded
    two-variable least squares lies inside or on an edge); the best b of a coarse grid is refined on a
    fine one around it. No start values, no local minima, every bootstrap curve in one vectorised step.
    """
    e = np.atleast_2d(np.asarray(errors, dtype=float))[:, None, :]  # (R, 1, k)
    rel = np.asarray(sizes, dtype=float) / n0
    upper = np.maximum(e.min(axis=2, keepdims=True), 0.0)  # (R, 1, 1)
    coarse = _B_GRID[None, :].repeat(len(e), axis=0)  # (R, G)
    a, c, sse = _solve_ac(np.power(rel[None, None, :], -coarse[:, :, None]), e, upper)
    g = sse.argmin(axis=1)
    step = np.log(_B_GRID[1] / _B_GRID[0])
    fine = np.clip(_B_GRID[g][:, None] * np.exp(np.linspace(-step, step, 41))[None, :], _B_GRID[0], _B_GRID[-1])
    a, c, sse = _solve_ac(np.power(rel[None, None, :], -fine[:, :, None]), e, upper)
    g = sse.argmin(axis=1)
    rows = np.arange(len(g))
    return np.column_stack([a[rows, g], fine[rows, g], c[rows, g]])


def _baseline(name: str, x: pd.DataFrame, seed: int) -> Pipeline:
    categorical = [
        c for c in x.columns if not (pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]))
    ]
    numeric = [c for c in x.columns if c not in categorical]
    if name == "logistic":
        columns = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )
        return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=2000))])
    columns = ColumnTransformer(
        [
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
            ("num", "passthrough", numeric),
        ]
    )
    model = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        early_stopping=False,
        categorical_features=list(range(len(categorical))) or None,
        random_state=seed,
    )
    return Pipeline([("columns", columns), ("model", model)])


def _check_inputs(
    x: pd.DataFrame,
    y: np.ndarray,
    target: Target,
    use_case: str,
    models: Sequence[str],
    folds: int,
    holdout: float,
) -> None:
    if target.metric not in FEASIBILITY_METRICS:
        raise UsageError(
            f"Feasibility cannot measure {target.metric!r} (the target {target}); learning curves are fitted on "
            f"{', '.join(FEASIBILITY_METRICS)}; write e.g. --target 'roc_auc>=0.64'"
        )
    unknown = [m for m in models if m not in BASELINES]
    if unknown or not models:
        raise UsageError(f"The baselines {list(models)!r} are not known; use {', '.join(BASELINES)}")
    if not isinstance(folds, int) or folds < 3:
        raise UsageError(f"The 'folds' parameter must be a whole number, 3 or more. Got {folds!r} instead.")
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0.05 <= holdout <= 0.5:
        raise UsageError(f"The 'holdout' parameter must be in [0.05, 0.5]. Got {holdout!r} instead.")
    rows, positives = len(y), int(np.sum(y))
    minority = min(positives, rows - positives)
    if rows < MIN_ROWS or minority < MIN_MINORITY:
        raise UsageError(
            f"A learning curve for {use_case} needs at least {MIN_ROWS} labelled rows with {MIN_MINORITY} of the "
            f"rarer class; the data has {rows} rows ({positives} positive, {rows - positives} negative). "
            "Collect more, or point --data at a bigger file"
        )


def _time_values(times: Any, rows: int, column: str) -> np.ndarray:
    """The time column as sortable values, one per row, none missing."""
    values = pd.Series(np.asarray(times) if not isinstance(times, pd.Series) else times.to_numpy())
    if len(values) != rows:
        raise UsageError(
            f"The 'times' parameter must hold one time per row ({rows:,}). Got {len(values):,} values instead."
        )
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        try:
            values = pd.Series(pd.to_datetime(values))
        except (ValueError, TypeError):
            raise UsageError(
                f"The time column {column!r} does not hold times or numbers (e.g. {values.iloc[0]!r}); "
                "name the column that orders the rows in time (data.time in the spec)"
            ) from None
    missing = int(values.isna().sum())
    if missing:
        raise UsageError(
            f"The time column {column!r} is empty in {missing:,} of {rows:,} rows, which cannot be put in time "
            "order; fill those times or leave the rows out of --data"
        )
    return values.to_numpy()


def _when(value: Any) -> str:
    stamp = pd.Timestamp(value) if isinstance(value, np.datetime64 | pd.Timestamp) else None
    return stamp.strftime("%Y-%m-%d") if stamp is not None else str(value)


def _time_blocks(
    times: np.ndarray, y: np.ndarray, folds: int, holdout: float, use_case: str, column: str
) -> list[tuple[int, int]]:
    """(start, end) of each fold's validation block over time-sorted rows: the newest ``holdout``
    share cut into ``folds`` consecutive blocks, each starting at a new time."""
    n = len(times)
    first = n - round(n * holdout)
    starts = [
        int(np.searchsorted(times, times[first + round(k * (n - first) / folds)], side="left")) for k in range(folds)
    ]
    blocks = list(zip(starts, [*starts[1:], n], strict=True))
    for start, end in blocks:
        if end == start or start < MIN_MINORITY:
            raise UsageError(
                f"The time-ordered split of {use_case} on {column!r} cannot cut the newest {holdout:.0%} of the rows "
                f"into {folds} blocks, each starting at a new time with earlier rows to train on: those rows hold "
                f"{len(np.unique(times[first:]))} distinct times, and {start:,} rows come before "
                f"{_when(times[start])}. Use fewer folds (e.g. folds=3), or data spanning more times"
            )
        positives = int(y[start:end].sum())
        if positives in (0, end - start):
            kind = "negative" if positives == 0 else "positive"
            raise UsageError(
                f"The time-ordered split of {use_case} on {column!r} needs both classes in each of its {folds} later "
                f"blocks; the block {_when(times[start])} to {_when(times[end - 1])} holds {end - start:,} rows, all "
                f"{kind}. Use fewer folds (e.g. folds=3), a larger holdout, or data with more recent labelled rows"
            )
    return blocks


def study_feasibility(
    x: pd.DataFrame,
    y: Sequence[Any] | np.ndarray | pd.Series,
    target: Target,
    *,
    use_case: str = "data",
    times: Sequence[Any] | np.ndarray | pd.Series | None = None,
    time_column: str | None = None,
    models: Sequence[str] = BASELINES,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    folds: int = 5,
    holdout: float = TIME_HOLDOUT,
    bootstrap: int = 300,
    level: float = 0.9,
    seed: int = 0,
) -> FeasibilityResult:
    """Fit learning curves on ``x``/``y`` (binary labels) and predict ``target.metric`` at 1×, 2×, 5× the rows.

    With ``times`` (one per row; ``time_column`` names it in messages) every fold trains on earlier
    rows and validates on later ones, the newest ``holdout`` share of the rows; without, the folds
    are random and stratified, and the result says so (:attr:`FeasibilityResult.split`).
    """
    y_arr = np.asarray(y).astype(bool).astype(int)
    x = x.reset_index(drop=True)
    _check_inputs(x, y_arr, target, use_case, models, folds, holdout)
    score, higher = FEASIBILITY_METRICS[target.metric]
    rng = np.random.default_rng(seed)
    # each fold: validation rows, and the training rows in the order windows take them (first = kept longest)
    plan: list[tuple[np.ndarray, np.ndarray]] = []
    if times is not None:
        column = time_column or "time"
        values = _time_values(times, len(y_arr), column)
        order = np.argsort(values, kind="stable")
        x, y_arr, values = x.iloc[order].reset_index(drop=True), y_arr[order], values[order]
        blocks = _time_blocks(values, y_arr, folds, holdout, use_case, column)
        plan = [(np.arange(start, end), np.arange(start - 1, -1, -1)) for start, end in blocks]
        split = Split(
            "time",
            column,
            f"time-ordered on {column}: {folds} folds validate on consecutive blocks of the newest "
            f"{holdout:.0%} of rows ({_when(values[blocks[0][0]])} to {_when(values[-1])}); each trains on "
            "the rows just before its block, the window growing back in time",
        )
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        plan = [(test, rng.permutation(train)) for train, test in splitter.split(x, y_arr)]
        split = Split(
            "random",
            None,
            f"random stratified {folds}-fold split: no time column, so rows are taken as exchangeable; "
            "give the time column (data.time in the spec) to validate on later rows instead",
        )
    train_len = min(len(train) for _, train in plan)
    sizes = np.array(sorted({max(20, round(f * train_len)) for f in fractions}), dtype=float)
    measured = {m: np.full((folds, len(sizes)), np.nan) for m in models}
    # Small fits: one native thread each is faster than OpenMP threads fighting over shared cores.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, (test, train) in enumerate(plan):
            for j, size in enumerate(sizes.astype(int)):
                part = train[:size]
                if len(np.unique(y_arr[part])) < 2:
                    continue
                for m in models:
                    fitted = _baseline(m, x, seed).fit(x.iloc[part], y_arr[part])
                    proba = fitted.predict_proba(x.iloc[test])[:, 1]
                    measured[m][k, j] = score(y_arr[test], proba)
    to_err: Callable[[np.ndarray], np.ndarray] = (lambda v: 1 - v) if higher else (lambda v: v)
    n0 = float(sizes[0])
    curves: list[Curve] = []
    for m in models:
        values = measured[m]
        mean = np.nanmean(values, axis=0)
        if np.isnan(mean).any():
            continue
        params = fit_power_law(sizes, to_err(mean), n0)[0]
        picks = rng.integers(0, folds, size=(bootstrap, folds))
        draws = fit_power_law(sizes, to_err(np.nanmean(values[picks], axis=1)), n0) if bootstrap else None
        curves.append(
            Curve(
                model=m,
                sizes=[int(s) for s in sizes],
                mean=[float(v) for v in mean],
                sd=[float(v) for v in np.nanstd(values, axis=0)],
                params=(float(params[0]), float(params[1]), float(params[2])),
                n0=int(n0),
                draws=draws if draws is not None else np.empty((0, 3)),
            )
        )
    if not curves:
        raise UsageError(
            f"No learning curve could be fitted for {use_case}: the scores did not follow a curve; "
            "check that the label is not constant and the features carry signal"
        )
    rows = len(y_arr)
    factor = widening(folds, level)
    predictions = _predict(curves, target, rows, higher, level, factor)
    return FeasibilityResult(
        use_case=use_case,
        target=target,
        rows=rows,
        positives=int(y_arr.sum()),
        folds=folds,
        level=level,
        curves=curves,
        predictions=predictions,
        higher_is_better=higher,
        split=split,
        widening=factor,
    )


def widening(folds: int, level: float) -> float:
    """How much to widen the spread of a bootstrap over ``folds`` units for honest ``level`` intervals.

    Resampling k fold results underestimates the spread of their mean by sqrt((k-1)/k), and normal
    quantiles are too short for so few units; the factor is sqrt(k/(k-1)) · t(k-1) / z at ``level``
    (1.45 for 5 folds at 90%).
    """
    q = 1 - (1 - level) / 2
    return float(math.sqrt(folds / (folds - 1)) * student_t.ppf(q, folds - 1) / norm.ppf(q))


def widen(draws: np.ndarray, estimate: np.ndarray | float, factor: float, higher: bool) -> np.ndarray:
    """Bootstrap values spread ``factor`` times further around the estimate, kept in the metric's range."""
    wide = estimate + factor * (draws - estimate)
    return np.clip(wide, 0.0, 1.0) if higher else np.maximum(wide, 0.0)


def _predict(
    curves: list[Curve], target: Target, rows: int, higher: bool, level: float, factor: float
) -> list[Prediction]:
    out = []
    tail = (1 - level) / 2
    for label, n in (("today", float(rows)), ("2x", 2.0 * rows), ("5x", 5.0 * rows), ("ceiling", math.inf)):
        if math.isinf(n):
            open_ended = [c.model for c in curves if not ceiling_identified(c.params)]
            if open_ended:  # the best ceiling is at least as unknown as any baseline's
                names = " and ".join(open_ended)
                has = "has" if len(open_ended) == 1 else "have"
                note = f"unknown: the learning curve of {names} {has} not flattened yet"
                out.append(Prediction(label, n, None, None, None, None, ", ".join(open_ended), note))
                continue
        best: Prediction | None = None
        for curve in curves:

            def metric(p: np.ndarray, n: float = n, curve: Curve = curve) -> np.ndarray:
                p = np.atleast_2d(p)
                err = p[:, 2] if math.isinf(n) else _power(n, p[:, 0], p[:, 1], p[:, 2], curve.n0)
                return 1 - err if higher else err

            estimate = float(metric(np.asarray(curve.params))[0])
            draws = widen(metric(curve.draws), estimate, factor, higher) if len(curve.draws) else np.array([estimate])
            reach = np.mean([target.met_by(float(v)) for v in draws])
            candidate = Prediction(
                label=label,
                rows=n,
                estimate=estimate,
                low=float(np.quantile(draws, tail)),
                high=float(np.quantile(draws, 1 - tail)),
                probability=float(reach),
                model=curve.model,
            )
            better = best is None or (estimate > best.estimate if higher else estimate < best.estimate)
            if better:
                best = candidate
        assert best is not None
        out.append(best)
    return out


def _features_function(spec: UseCase) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    path = spec.data.features
    if not path:
        return None
    from modelyard._exceptions import ModelyardError
    from modelyard.data import load_feature_code

    try:
        return load_feature_code(path).function
    except ModelyardError as exc:
        raise UsageError(f"{spec.name}: {exc.message}") from None


def load_use_case_data(
    spec: UseCase, data: str | Path | None, root: Path
) -> tuple[pd.DataFrame, np.ndarray, pd.Series | None]:
    """Model inputs, 0/1 labels and the times that order the rows (None when the spec names no
    ``data.time``): ``data`` (or ``<root>/data/customers.parquet``) through the spec's feature code."""
    path = Path(data) if data is not None else root / "data" / "customers.parquet"
    if not path.is_absolute() and data is not None and not path.exists():
        path = root / path
    if not path.exists():
        raise UsageError(f"No data for a learning curve at {path}; pass --data FILE (Parquet or CSV)")
    raw = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    label = spec.data.label
    if label not in raw.columns:
        raise UsageError(
            f"The data {path} has no label column {label!r} (data.label of {spec.name}); "
            f"its columns are {', '.join(map(str, raw.columns[:12]))}"
        )
    time = spec.data.time
    if time and time not in raw.columns:
        raise UsageError(
            f"The data {path} has no time column {time!r} (data.time of {spec.name}), so the learning curve "
            f"cannot validate on later rows; point --data at a file with that column "
            f"(its columns are {', '.join(map(str, raw.columns[:12]))})"
        )
    raw = raw[raw[label].notna()].reset_index(drop=True)
    features = _features_function(spec)
    if features is not None:  # labels are paired by position: the feature code's rows must be in order
        from modelyard.data._features import in_input_order

        x = in_input_order(features(raw), raw, str(spec.data.features), f"the data {path}")
    else:
        x = raw[[f.name for f in spec.inputs if f.name in raw.columns]]
    y = (raw[label] == spec.positive_label).to_numpy().astype(int)
    return x, y, (raw[time] if time else None)
