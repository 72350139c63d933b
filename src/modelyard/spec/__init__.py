"""Use-case specs: one YAML file per product use case, loaded into validated objects.

>>> from modelyard.spec import load_use_case
>>> use_case = load_use_case("usecases/churn.yaml")  # doctest: +SKIP
>>> use_case.costs.expression("false_negative").evaluate(frame)  # doctest: +SKIP

A malformed file raises :class:`modelyard.SpecError` listing every problem, each with its file,
line, key, the bad value and the fix; :func:`validate_file` returns the same issues as a list.
"""

from ._expressions import Expression, ExpressionError, parse_expression
from ._issues import SpecIssue
from ._loader import find_use_case, load_use_case, load_use_cases, validate_file
from ._models import (
    BeatsChampionGate,
    BudgetGate,
    Budgets,
    CostModel,
    CostOverrides,
    DataSource,
    Feature,
    Gate,
    Guard,
    MetricGate,
    Output,
    OutputAdapter,
    Segment,
    UseCase,
)
from ._names import BUDGET_NAMES, FEATURE_TYPES, KNOWN_METRICS, OUTCOMES
from ._schema import json_schema, write_json_schema

__all__ = [
    "BUDGET_NAMES",
    "FEATURE_TYPES",
    "KNOWN_METRICS",
    "OUTCOMES",
    "BeatsChampionGate",
    "BudgetGate",
    "Budgets",
    "CostModel",
    "CostOverrides",
    "DataSource",
    "Expression",
    "ExpressionError",
    "Feature",
    "Gate",
    "Guard",
    "MetricGate",
    "Output",
    "OutputAdapter",
    "Segment",
    "SpecIssue",
    "UseCase",
    "find_use_case",
    "json_schema",
    "load_use_case",
    "load_use_cases",
    "parse_expression",
    "validate_file",
    "write_json_schema",
]
