"""The public names of modelyard.spec: exactly those in __all__, each importable."""

from __future__ import annotations

import modelyard.spec as spec


def test_all_lists_the_public_names() -> None:
    public = {name for name in dir(spec) if not name.startswith("_")}
    assert set(spec.__all__) == public
    for name in spec.__all__:
        assert getattr(spec, name) is not None


def test_required_names_are_exported() -> None:
    required = {
        "UseCase", "Feature", "Output", "Budgets", "CostModel", "Segment", "Guard", "Gate", "MetricGate",
        "BeatsChampionGate", "BudgetGate", "DataSource", "SpecIssue", "Expression", "parse_expression",
        "load_use_case", "load_use_cases", "validate_file", "find_use_case", "json_schema",
        "write_json_schema", "KNOWN_METRICS",
    }  # fmt: skip
    assert required <= set(spec.__all__)


def test_known_metrics() -> None:
    assert spec.KNOWN_METRICS == (
        "roc_auc", "pr_auc", "log_loss", "brier", "ece", "accuracy", "precision", "recall",
        "false_positive_rate", "true_positive_rate", "f1", "expected_cost", "cost_per_1000",
    )  # fmt: skip
    assert spec.BUDGET_NAMES == ("latency_p99_ms", "memory_mb", "artifact_mb")
