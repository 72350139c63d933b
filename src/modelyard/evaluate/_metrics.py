"""Metrics of binary classification from scores, as pure functions.

Every function takes ``y_true`` (0/1 or bool), ``y_score`` (floats in [0, 1]) and an optional
``sample_weight``. A 1-D weight gives a float; a 2-D weight of shape ``(k, n)`` gives ``k`` values at
once, one per row of weights. The bootstrap passes its resampling counts this way, so a point
estimate and its replicates run the same code.

>>> import numpy as np
>>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.75
>>> float(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
0.8333333333333333
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "HIGHER_IS_BETTER",
    "average_precision",
    "brier_score",
    "calibration_curve",
    "confusion",
    "expected_calibration_error",
    "log_loss",
    "pr_curve_points",
    "roc_auc",
    "roc_curve_points",
    "threshold_metrics",
]

#: Metrics where a larger value is better; every other metric is better when smaller.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "accuracy", "precision", "recall", "true_positive_rate", "f1"})

_EPS = float(np.finfo(np.float64).eps)


def _weights(n: int, sample_weight: Any) -> tuple[np.ndarray, bool]:
    """Weights as a 2-D array ``(k, n)`` and whether the caller passed 2-D weights."""
    if sample_weight is None:
        return np.ones((1, n)), False
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 1:
        return w[None, :], False
    return w, True


def _out(values: np.ndarray, two_d: bool) -> Any:
    return values if two_d else float(values[0])


def _groups(y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ascending sort order of the scores and where each run of tied scores starts."""
    order = np.argsort(y_score, kind="mergesort")
    s = y_score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.empty(0, dtype=np.intp)
    return order, starts


def _grouped(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight of positives and of negatives per distinct score (ascending), and the distinct scores."""
    order, starts = _groups(s)
    ws = w[:, order]
    wp = ws * y[order]
    pos = np.add.reduceat(wp, starts, axis=1)
    neg = np.add.reduceat(ws - wp, starts, axis=1)
    return pos, neg, s[order][starts]


def roc_auc(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> Any:
    """Area under the ROC curve: the probability that a positive scores above a negative (ties count half).

    Equal to :func:`sklearn.metrics.roc_auc_score`; NaN when one class has no weight.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    w, two_d = _weights(len(s), sample_weight)
    pos, neg, _ = _grouped(y, s, w)
    neg_below = np.cumsum(neg, axis=1) - neg
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / total
    return _out(np.where(total > 0, auc, np.nan), two_d)


def average_precision(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> Any:
    """Area under the precision-recall curve as a step sum, ``sum_k (R_k - R_{k-1}) P_k``.

    Equal to :func:`sklearn.metrics.average_precision_score`; NaN when there is no positive weight.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    w, two_d = _weights(len(s), sample_weight)
    pos, neg, _ = _grouped(y, s, w)
    tps = np.cumsum(pos[:, ::-1], axis=1)
    fps = np.cumsum(neg[:, ::-1], axis=1)
    acted = tps + fps
    precision = np.divide(tps, acted, out=np.zeros_like(tps), where=acted > 0)
    total = tps[:, -1:] if tps.shape[1] else np.zeros((tps.shape[0], 1))
    recall = np.divide(tps, total, out=np.zeros_like(tps), where=total > 0)
    steps = np.diff(recall, axis=1, prepend=0.0)
    ap = (steps * precision).sum(axis=1)
    return _out(np.where(total[:, 0] > 0, ap, np.nan), two_d)


def log_loss(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> Any:
    """Mean negative log-likelihood; scores are clipped to [eps, 1 - eps] as scikit-learn does."""
    y = np.asarray(y_true).astype(bool)
    p = np.clip(np.asarray(y_score, dtype=np.float64), _EPS, 1 - _EPS)
    w, two_d = _weights(len(p), sample_weight)
    per_row = -np.where(y, np.log(p), np.log1p(-p))
    return _out(_mean(w, per_row), two_d)


def brier_score(y_true: Any, y_score: Any, *, sample_weight: Any = None) -> Any:
    """Mean squared difference between score and outcome."""
    y = np.asarray(y_true).astype(np.float64)
    p = np.asarray(y_score, dtype=np.float64)
    w, two_d = _weights(len(p), sample_weight)
    return _out(_mean(w, (p - y) ** 2), two_d)


def _mean(w: np.ndarray, per_row: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (w @ per_row) / total, np.nan)


def _bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((p * n_bins).astype(np.intp), n_bins - 1)


def expected_calibration_error(y_true: Any, y_score: Any, *, n_bins: int = 10, sample_weight: Any = None) -> Any:
    """Weighted mean gap between mean score and positive rate over ``n_bins`` equal-width bins."""
    y = np.asarray(y_true).astype(np.float64)
    p = np.asarray(y_score, dtype=np.float64)
    w, two_d = _weights(len(p), sample_weight)
    onehot = np.zeros((len(p), n_bins))
    onehot[np.arange(len(p)), _bins(p, n_bins)] = 1.0
    gaps = np.abs(w @ (onehot * (y - p)[:, None]))
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(np.where(total > 0, gaps.sum(axis=1) / total, np.nan), two_d)


def calibration_curve(y_true: Any, y_score: Any, *, n_bins: int = 10) -> list[dict[str, float]]:
    """The reliability curve: per non-empty equal-width bin, its mean score, positive rate and rows."""
    y = np.asarray(y_true).astype(np.float64)
    p = np.asarray(y_score, dtype=np.float64)
    b = _bins(p, n_bins)
    rows = np.bincount(b, minlength=n_bins)
    mean_score = np.bincount(b, weights=p, minlength=n_bins)
    positives = np.bincount(b, weights=y, minlength=n_bins)
    return [
        {
            "bin_low": i / n_bins,
            "bin_high": (i + 1) / n_bins,
            "mean_score": float(mean_score[i] / rows[i]),
            "positive_rate": float(positives[i] / rows[i]),
            "rows": int(rows[i]),
        }
        for i in range(n_bins)
        if rows[i] > 0
    ]


def confusion(y_true: Any, acted: Any, *, sample_weight: Any = None) -> dict[str, Any]:
    """Weighted counts of true/false positives/negatives of the decisions ``acted`` (bools)."""
    y = np.asarray(y_true).astype(np.float64)
    a = np.asarray(acted).astype(np.float64)
    w, two_d = _weights(len(y), sample_weight)
    tp = w @ (a * y)
    fp = w @ (a * (1 - y))
    fn = w @ ((1 - a) * y)
    tn = w @ ((1 - a) * (1 - y))
    return {k: _out(v, two_d) for k, v in {"tp": tp, "fp": fp, "tn": tn, "fn": fn}.items()}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)


#: Metrics of the decisions at a threshold, from the confusion counts.
_FROM_COUNTS: dict[str, Callable[[Any, Any, Any, Any], np.ndarray]] = {
    "accuracy": lambda tp, fp, tn, fn: _ratio(tp + tn, tp + fp + tn + fn),
    "precision": lambda tp, fp, tn, fn: _ratio(tp, tp + fp),
    "recall": lambda tp, fp, tn, fn: _ratio(tp, tp + fn),
    "true_positive_rate": lambda tp, fp, tn, fn: _ratio(tp, tp + fn),
    "false_positive_rate": lambda tp, fp, tn, fn: _ratio(fp, fp + tn),
    "f1": lambda tp, fp, tn, fn: _ratio(2 * tp, 2 * tp + fp + fn),
}


def threshold_metrics(y_true: Any, acted: Any, *, sample_weight: Any = None) -> dict[str, Any]:
    """Accuracy, precision, recall (true-positive rate), false-positive rate and F1 of the decisions."""
    c = confusion(y_true, acted, sample_weight=sample_weight)
    two_d = np.ndim(c["tp"]) > 0
    out = {}
    for name, fn in _FROM_COUNTS.items():
        value = fn(c["tp"], c["fp"], c["tn"], c["fn"])
        out[name] = value if two_d else float(value)
    return out


def roc_curve_points(y_true: Any, y_score: Any, *, max_points: int = 200) -> dict[str, list[float]]:
    """False- and true-positive rates at every distinct threshold (thinned to about ``max_points``)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    pos, neg, _ = _grouped(y, s, np.ones((1, len(s))))
    tpr = np.r_[0.0, np.cumsum(pos[0, ::-1]) / max(pos.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(neg[0, ::-1]) / max(neg.sum(), 1)]
    keep = _thin(len(tpr), max_points)
    return {"fpr": fpr[keep].round(5).tolist(), "tpr": tpr[keep].round(5).tolist()}


def pr_curve_points(y_true: Any, y_score: Any, *, max_points: int = 200) -> dict[str, list[float]]:
    """Recall and precision at every distinct threshold, highest threshold first (thinned)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    pos, neg, _ = _grouped(y, s, np.ones((1, len(s))))
    tps = np.cumsum(pos[0, ::-1])
    fps = np.cumsum(neg[0, ::-1])
    precision = tps / np.maximum(tps + fps, 1e-300)
    recall = tps / max(tps[-1], 1e-300) if len(tps) else tps
    keep = _thin(len(recall), max_points)
    return {"recall": recall[keep].round(5).tolist(), "precision": precision[keep].round(5).tolist()}


def _thin(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.r_[np.linspace(0, n - 1, max_points).astype(np.intp), n - 1])
