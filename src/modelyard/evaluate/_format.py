"""Small shared formatting helpers for the reports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["KEY_METRICS", "ROLE_TITLES", "fmt", "fmt_interval", "threshold_text", "training_rows_line"]

#: The metrics every report shows, in order, with their labels.
KEY_METRICS = (
    ("cost_per_1000", "cost per 1,000 decisions"),
    ("expected_cost", "total cost"),
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC"),
    ("log_loss", "log loss"),
    ("brier", "Brier score"),
    ("ece", "calibration error (ECE)"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("false_positive_rate", "false-positive rate"),
)

ROLE_TITLES = {"challenger": "challenger", "champion": "champion"}


def fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    x = float(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:,.1f}"
    return f"{x:.{digits}f}"


def fmt_interval(iv: Mapping[str, Any] | None, digits: int = 3) -> str:
    if not iv:
        return "n/a"
    return f"{fmt(iv.get('value'), digits)} [{fmt(iv.get('low'), digits)}, {fmt(iv.get('high'), digits)}]"


def threshold_text(t: Any) -> str:
    return "act on no one" if t is None else f"{float(t):.3f}"


def training_rows_line(check: Mapping[str, Any]) -> str:
    """One line on how the data was compared with a version's training rows (see ``training_rows``)."""
    return f"Training rows of v{check['version']} ({check['role']}): {check['status']}: {check['note']}"
