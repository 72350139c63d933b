"""The fixed vocabularies of a use-case spec: types, metrics, budgets, outcomes."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BUDGET_NAMES",
    "FEATURE_TYPES",
    "KNOWN_METRICS",
    "OUTCOMES",
    "BudgetName",
    "FeatureType",
    "MetricName",
    "Outcome",
]

FeatureType = Literal["int", "float", "bool", "category", "string", "datetime"]
MetricName = Literal[
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "accuracy",
    "precision",
    "recall",
    "false_positive_rate",
    "true_positive_rate",
    "f1",
    "expected_cost",
    "cost_per_1000",
]
BudgetName = Literal["latency_p99_ms", "memory_mb", "artifact_mb"]
Outcome = Literal["true_positive", "false_positive", "true_negative", "false_negative"]

FEATURE_TYPES: tuple[str, ...] = get_args(FeatureType)
#: Every metric name a gate or a guard may refer to.
KNOWN_METRICS: tuple[str, ...] = get_args(MetricName)
BUDGET_NAMES: tuple[str, ...] = get_args(BudgetName)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
