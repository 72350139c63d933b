"""Champion against challenger on the same rows: metrics, costs, intervals, segments, months.

Pure computation: scores and per-row costs in, a JSON-ready dictionary out (see :mod:`._schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelyard.evaluate import _metrics as m
from modelyard.evaluate._bootstrap import (
    DEFAULT_MAX_ELEMENTS,
    RESAMPLING,
    bootstrap_counts,
    bootstrap_sums,
    interval,
)
from modelyard.evaluate._costs import RowCosts, cost_curve
from modelyard.evaluate._data import EvaluationData

__all__ = [
    "THRESHOLD_SELECTION",
    "Contender",
    "compare",
    "cross_fit_decisions",
    "folds_for",
    "paired_cost_bootstrap",
]

THRESHOLD_SELECTION = (
    "Two-fold cross-fitting: the rows are split at random into two halves; each half is decided with "
    "the cost-minimising threshold of the other half, so no row's cost is measured with a threshold "
    "tuned on it. The chosen threshold shown (to ship) minimises the cost on all rows."
)

SCORE_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")
DECISION_METRICS = ("accuracy", "precision", "recall", "true_positive_rate", "false_positive_rate", "f1")
COST_METRICS = ("expected_cost", "cost_per_1000")
ALL_METRICS = SCORE_METRICS + DECISION_METRICS + COST_METRICS


@dataclass
class Contender:
    """One side of the comparison: a model's scores (or a fixed policy's decisions) and what it is."""

    role: str
    label: str
    scores: np.ndarray | None
    threshold_in_use: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    acted: np.ndarray | None = None  # filled by compare(): the cross-fitted decisions


def folds_for(n: int, seed: int) -> np.ndarray:
    """The two cross-fitting folds (0 or 1 per row), balanced and shuffled by ``seed``."""
    return np.random.default_rng(seed).permutation(np.arange(n) % 2)


def _threshold_json(t: float) -> float | None:
    return None if not np.isfinite(t) else float(t)


def cross_fit_decisions(scores: np.ndarray, costs: RowCosts, folds: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Decisions where each fold uses the cost-minimising threshold of the other folds."""
    acted = np.zeros(len(scores), dtype=bool)
    thresholds = []
    for k in np.unique(folds):
        mine = folds == k
        t = cost_curve(scores[~mine], costs.subset(~mine)).best_threshold
        acted[mine] = scores[mine] >= t
        thresholds.append(t)
    return acted, thresholds


def paired_cost_bootstrap(
    cost_a: np.ndarray,
    cost_b: np.ndarray,
    *,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> dict[str, Any]:
    """Paired bootstrap of ``sum(cost_a) - sum(cost_b)`` (per-row costs of two policies on the same rows).

    Resampling the per-row difference is resampling both policies on the same rows. Returns the
    difference with its interval, the probability that ``a`` is cheaper (ties count half), and the
    replicates of the difference.
    """
    per_row = np.asarray(cost_a, dtype=np.float64) - np.asarray(cost_b, dtype=np.float64)
    diff = bootstrap_sums(per_row, replicates, seed, max_elements=max_elements)[:, 0]
    return {
        "difference": interval(float(per_row.sum()), diff, level),
        "probability_a_cheaper": float(np.mean(diff < 0) + 0.5 * np.mean(diff == 0)),
        "replicates": diff,
    }


def _point_metrics(y: np.ndarray, c: Contender, cost_rows: np.ndarray, weight: np.ndarray | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if c.scores is not None:
        out["roc_auc"] = m.roc_auc(y, c.scores, sample_weight=weight)
        out["pr_auc"] = m.average_precision(y, c.scores, sample_weight=weight)
        out["log_loss"] = m.log_loss(y, c.scores, sample_weight=weight)
        out["brier"] = m.brier_score(y, c.scores, sample_weight=weight)
        out["ece"] = m.expected_calibration_error(y, c.scores, sample_weight=weight)
    out.update(m.threshold_metrics(y, c.acted, sample_weight=weight))
    w = np.ones(len(y)) if weight is None else weight
    total = float(w @ cost_rows)
    out["expected_cost"] = total
    out["cost_per_1000"] = total / max(float(w.sum()), 1e-300) * 1000
    return out


def _replicate_metrics(y: np.ndarray, c: Contender, cost_rows: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if c.scores is not None:
        out["roc_auc"] = m.roc_auc(y, c.scores, sample_weight=counts)
        out["pr_auc"] = m.average_precision(y, c.scores, sample_weight=counts)
        out["log_loss"] = m.log_loss(y, c.scores, sample_weight=counts)
        out["brier"] = m.brier_score(y, c.scores, sample_weight=counts)
        out["ece"] = m.expected_calibration_error(y, c.scores, sample_weight=counts)
    out.update(m.threshold_metrics(y, c.acted, sample_weight=counts))
    total = counts @ cost_rows
    out["expected_cost"] = total
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cost_per_1000"] = total / counts.sum(axis=1) * 1000
    return out


def _intervals(
    points: Mapping[str, float], reps: Mapping[str, np.ndarray], prefix: str, level: float
) -> dict[str, dict[str, float]]:
    return {
        name: interval(value, reps[f"{prefix}{name}"], level).to_dict()
        for name, value in points.items()
        if f"{prefix}{name}" in reps
    }


def _better_probability(name: str, diff: np.ndarray) -> float:
    """Probability over replicates that the challenger is better on ``name`` (ties half)."""
    diff = diff[np.isfinite(diff)]
    if not len(diff):
        return float("nan")
    better = diff > 0 if name in m.HIGHER_IS_BETTER else diff < 0
    return float(np.mean(better) + 0.5 * np.mean(diff == 0))


def compare(
    data: EvaluationData,
    costs: RowCosts,
    segment_masks: Mapping[str, np.ndarray],
    challenger: Contender,
    champion: Contender | None,
    *,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    segment_info: Mapping[str, dict[str, Any]] | None = None,
    reference_scores: np.ndarray | None = None,
    reference_label: str = "logistic regression (cross-fitted on these rows)",
) -> dict[str, Any]:
    """Everything the report shows, as plain data (without id, verdict and gates).

    ``reference_scores`` (out-of-fold scores of a simple model on the folds of :func:`folds_for`)
    are priced too, for the "is it worth it" section.
    """
    y, n = data.y, data.n
    folds = folds_for(n, seed)

    trivial = {
        "act_on_everyone": float(costs.act.sum()),
        "act_on_no_one": float(costs.rest.sum()),
    }
    if champion is None:
        everyone = trivial["act_on_everyone"] <= trivial["act_on_no_one"]
        champion = Contender(
            role="champion",
            label="act on everyone" if everyone else "act on no one",
            scores=None,
            acted=np.full(n, everyone),
            info={"policy": "act_on_everyone" if everyone else "act_on_no_one"},
        )

    models: dict[str, dict[str, Any]] = {}
    contenders = [challenger, champion]
    for c in contenders:
        entry: dict[str, Any] = {"label": c.label, **c.info}
        if c.scores is not None:
            curve = cost_curve(c.scores, costs)
            c.acted, fold_thresholds = cross_fit_decisions(c.scores, costs, folds)
            entry["chosen_threshold"] = _threshold_json(curve.best_threshold)
            entry["fold_thresholds"] = [_threshold_json(t) for t in fold_thresholds]
            entry["in_sample_min_cost"] = {"total": curve.best_cost, "per_1000": curve.best_cost / n * 1000}
            if c.threshold_in_use is not None:
                at_use = float(costs.of(c.scores >= c.threshold_in_use).sum())
                entry["threshold_in_use"] = c.threshold_in_use
                entry["cost_at_threshold_in_use"] = {"total": at_use, "per_1000": at_use / n * 1000}
            entry["curves"] = {
                "cost": curve.points(),
                "roc": m.roc_curve_points(y, c.scores),
                "pr": m.pr_curve_points(y, c.scores),
            }
            entry["calibration"] = m.calibration_curve(y, c.scores)
        entry["confusion"] = {k: int(v) for k, v in m.confusion(y, c.acted).items()}
        models[c.role] = entry

    decisions = {c.role: c.acted for c in contenders if c.acted is not None}
    cost_rows = {role: costs.of(acted) for role, acted in decisions.items()}
    points = {c.role: _point_metrics(y, c, cost_rows[c.role], None) for c in contenders}
    seg_points = {
        name: {c.role: _point_metrics(y, c, cost_rows[c.role], mask.astype(np.float64)) for c in contenders}
        for name, mask in segment_masks.items()
    }

    def statistic(counts: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for c in contenders:
            for k, v in _replicate_metrics(y, c, cost_rows[c.role], counts).items():
                out[f"{c.role}.{k}"] = v
            for name, mask in segment_masks.items():
                seg_counts = counts * mask
                for k, v in _replicate_metrics(y, c, cost_rows[c.role], seg_counts).items():
                    out[f"{name}.{c.role}.{k}"] = v
        return out

    reps = bootstrap_counts(n, replicates, seed, statistic)
    paired = paired_cost_bootstrap(
        cost_rows["challenger"], cost_rows["champion"], replicates=replicates, seed=seed, level=level
    )
    for c in contenders:
        models[c.role]["metrics"] = _intervals(points[c.role], reps, f"{c.role}.", level)

    probability_better = {
        name: _better_probability(name, reps[f"challenger.{name}"] - reps[f"champion.{name}"])
        for name in ALL_METRICS
        if f"challenger.{name}" in reps and f"champion.{name}" in reps
    }
    probability_better["expected_cost"] = paired["probability_a_cheaper"]
    probability_better["cost_per_1000"] = paired["probability_a_cheaper"]
    saving = paired["difference"]
    comparison = {
        "baseline": champion.label,
        "saving": interval(-saving.value, -paired["replicates"], level).to_dict(),
        "saving_per_1000": interval(-saving.value / n * 1000, -paired["replicates"] / n * 1000, level).to_dict(),
        "probability_cheaper": paired["probability_a_cheaper"],
        "probability_better": probability_better,
        "difference": {
            name: interval(
                points["challenger"][name] - points["champion"][name],
                reps[f"challenger.{name}"] - reps[f"champion.{name}"],
                level,
            ).to_dict()
            for name in probability_better
            if f"challenger.{name}" in reps and f"champion.{name}" in reps
        },
    }

    segments = []
    for name, mask in segment_masks.items():
        seg = {
            "name": name,
            **(segment_info or {}).get(name, {}),
            "rows": int(mask.sum()),
            "positives": int(y[mask].sum()),
            "models": {
                c.role: _intervals(seg_points[name][c.role], reps, f"{name}.{c.role}.", level) for c in contenders
            },
            "difference": {
                k: interval(
                    seg_points[name]["challenger"][k] - seg_points[name]["champion"][k],
                    reps[f"{name}.challenger.{k}"] - reps[f"{name}.champion.{k}"],
                    level,
                ).to_dict()
                for k in ALL_METRICS
                if f"{name}.challenger.{k}" in reps and f"{name}.champion.{k}" in reps
            },
        }
        segments.append(seg)

    reference = None
    if reference_scores is not None:
        ref_acted, _ = cross_fit_decisions(reference_scores, costs, folds)
        ref_cost = costs.of(ref_acted)
        sums = bootstrap_sums(ref_cost, replicates, seed)[:, 0]
        reference = {
            "label": reference_label,
            "roc_auc": m.roc_auc(y, reference_scores),
            "cost_per_1000": interval(float(ref_cost.sum()) / n * 1000, sums / n * 1000, level).to_dict(),
        }

    return {
        "reference": reference,
        "data": {
            "ref": data.ref,
            "rows": n,
            "positives": int(y.sum()),
            "time_column": None if data.time is None else str(data.time.name),
        },
        "method": {
            "resampling": RESAMPLING,
            "replicates": replicates,
            "level": level,
            "seed": seed,
            "threshold_selection": THRESHOLD_SELECTION,
            "decision_rule": "act when score >= threshold",
        },
        "models": models,
        "trivial": {k: {"total": v, "per_1000": v / n * 1000} for k, v in trivial.items()},
        "comparison": comparison,
        "segments": segments,
        "stability": _stability(data, contenders, cost_rows),
    }


def _stability(data: EvaluationData, contenders: list[Contender], cost_rows: dict[str, np.ndarray]) -> dict[str, Any]:
    if data.time is None:
        return {"column": None, "period": "month", "slices": [], "note": "the data has no time column"}
    months = data.time.dt.to_period("M")
    slices = []
    for month in sorted(months.dropna().unique()):
        mask = (months == month).to_numpy()
        row: dict[str, Any] = {"period": str(month), "rows": int(mask.sum()), "positives": int(data.y[mask].sum())}
        both = 0 < row["positives"] < row["rows"]
        for c in contenders:
            row[f"{c.role}_cost_per_1000"] = float(cost_rows[c.role][mask].mean() * 1000)
            if c.scores is not None:
                row[f"{c.role}_roc_auc"] = m.roc_auc(data.y[mask], c.scores[mask]) if both else None
        row["saving_per_1000"] = row["champion_cost_per_1000"] - row["challenger_cost_per_1000"]
        slices.append(row)
    wins = sum(1 for s in slices if s["saving_per_1000"] > 0)
    losses = sum(1 for s in slices if s["saving_per_1000"] < 0)
    return {
        "column": str(data.time.name),
        "period": "month",
        "slices": slices,
        "challenger_cheaper_in": wins,
        "challenger_dearer_in": losses,
    }


def month_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """The stability slices as a frame (for reports)."""
    return pd.DataFrame(result.get("stability", {}).get("slices", []))
