"""The use-case spec as pydantic models: the contract every other module codes against."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from .._exceptions import NotFoundError
from ._checks import cross_check
from ._expressions import Expression, ExpressionError, parse_expression
from ._issues import Problem, Problems, closest
from ._names import BudgetName, FeatureType, MetricName, Outcome

__all__ = [
    "BeatsChampionGate",
    "BudgetGate",
    "Budgets",
    "CostModel",
    "CostOverrides",
    "DataSource",
    "Feature",
    "Gate",
    "Guard",
    "MetricGate",
    "Output",
    "Segment",
    "UseCase",
]

#: Tasks a later release will accept; naming one gets a "not yet" message instead of "invalid".
PLANNED_TASKS = ("regression", "multiclass_classification", "multiclass")


class _Model(BaseModel):
    # allow_inf_nan: YAML's .nan and .inf (and 1e400) would make every cost, budget and gate meaningless
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --- value types with one clear error each (instead of one error per union member) ---


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value


def _bound(value: Any) -> Any:
    if isinstance(value, int | float | date) and not isinstance(value, bool):
        return _finite(value)
    if isinstance(value, str):
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                pass
    raise ValueError(f"must be a number or a date such as 2020-01-31, got {value!r}")


def _amount(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value))
    if isinstance(value, str):
        try:
            return parse_expression(value).text
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"must be a number or an expression such as '12 * monthly_charges', got {value!r}")


def _condition(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a condition such as \"contract != 'Month-to-month'\", got {value!r}")
    try:
        expression = parse_expression(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    if not expression.is_condition:
        raise ValueError(
            f"{expression.text!r} is arithmetic, not a condition; "
            "compare something, e.g. \"contract != 'Month-to-month'\""
        )
    return expression.text


def _label_value(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    raise ValueError(f"must be a string, a number or true/false, got {value!r}")


def _task(value: Any) -> Any:
    if value in PLANNED_TASKS:
        raise ValueError(
            f"task {value!r} is not supported yet; use 'binary_classification' "
            "(regression and multiclass classification are planned)"
        )
    return value


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


Bound = Annotated[int | float | date | datetime, BeforeValidator(_bound)]
Amount = Annotated[float | str, BeforeValidator(_amount)]
Condition = Annotated[str, BeforeValidator(_condition)]
LabelValue = Annotated[bool | int | str, BeforeValidator(_label_value)]
Positive = Annotated[float, Field(gt=0)]
Category = str | int

_NUMERIC_TYPES = ("int", "float")


# --- columns ---


class _Column(_Model):
    name: str = Field(min_length=1, title="Name", description="The column's name in the data.")
    type: FeatureType = Field(
        title="Type", description="The column's type: int, float, bool, category, string or datetime."
    )
    nullable: bool = Field(default=False, title="Nullable", description="Whether the value may be missing (null/NaN).")
    min: Bound | None = Field(
        default=None,
        title="Minimum",
        description="Smallest allowed value; only for int, float (a number) and datetime (a date).",
    )
    max: Bound | None = Field(
        default=None,
        title="Maximum",
        description="Largest allowed value; only for int, float (a number) and datetime (a date).",
    )
    categories: list[Category] | None = Field(
        default=None,
        title="Categories",
        description="The allowed values; required for type category, forbidden otherwise.",
    )
    description: str = Field(default="", title="Description", description="What the column means.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        problems = [*_category_problems(self), *_range_problems(self)]
        if problems:
            raise Problems(problems)
        return self


def _category_problems(column: _Column) -> list[Problem]:
    if column.type != "category":
        if column.categories is not None:
            return [
                Problem(
                    ("categories",),
                    f"categories are only allowed for type 'category', not {column.type!r}",
                    "remove 'categories' or set 'type: category'",
                    column.categories,
                )
            ]
        return []
    if column.categories is None:
        return [
            Problem(
                ("categories",),
                "missing required key 'categories' for a category column",
                "list the allowed values, e.g. 'categories: [a, b, c]'",
            )
        ]
    if not column.categories:
        return [Problem(("categories",), "categories is empty", "list at least one allowed value", [])]
    seen: set[Category] = set()
    problems = []
    for index, category in enumerate(column.categories):
        if category in seen:
            problems.append(
                Problem(("categories", index), f"category {category!r} is listed twice", "remove one", category)
            )
        seen.add(category)
    return problems


def _range_problems(column: _Column) -> list[Problem]:
    problems = []
    for key in ("min", "max"):
        bound = getattr(column, key)
        if bound is None:
            continue
        if column.type not in (*_NUMERIC_TYPES, "datetime"):
            problems.append(
                Problem(
                    (key,),
                    f"'{key}' is only allowed for int, float and datetime, not {column.type!r}",
                    f"remove '{key}'",
                    bound,
                )
            )
        elif column.type == "datetime" and not isinstance(bound, date):
            problems.append(Problem((key,), f"{bound!r} is not a date", "write a date such as 2020-01-31", bound))
        elif column.type != "datetime" and isinstance(bound, date):
            problems.append(
                Problem((key,), f"{bound!s} is not a number", f"write a number for a {column.type} column", bound)
            )
    if not problems and column.min is not None and column.max is not None:
        low, high = _comparable(column.min), _comparable(column.max)
        if low > high:
            problems.append(
                Problem(
                    ("min",),
                    f"min {column.min!s} is greater than max {column.max!s}",
                    "swap them or correct the range",
                    column.min,
                )
            )
    return problems


def _comparable(bound: int | float | date | datetime) -> Any:
    if isinstance(bound, date) and not isinstance(bound, datetime):
        return datetime(bound.year, bound.month, bound.day)
    if isinstance(bound, datetime) and bound.tzinfo is not None:
        return bound.replace(tzinfo=None)
    return bound


class Feature(_Column):
    """One input column of the model: its type, whether it may be missing, its range or categories."""


class OutputAdapter(_Model):
    """How to read an output from an almost-right model answer, so a small mismatch costs a line."""

    column: Annotated[str, Field(min_length=1)] | Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        title="Column",
        description="Take this column of the model's answer: a name (proba) or a position (1).",
    )
    scale: Positive | None = Field(
        default=None, title="Scale", description="Multiply the answer by this, e.g. 0.01 for scores in percent."
    )

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if self.column is None and self.scale is None:
            raise ValueError("an adapter sets 'column', 'scale' or both, e.g. {column: 1}")
        return self


class Output(_Column):
    """One column the model returns, such as ``score`` (float in [0, 1]) or ``label`` (bool)."""

    adapter: OutputAdapter | None = Field(
        default=None,
        title="Adapter",
        description="Read this output from the model's answer: {column: 1}, {column: proba} or {scale: 0.01}.",
    )


def _default_outputs() -> list[Output]:
    return [
        Output(name="score", type="float", min=0, max=1, description="Probability of the positive class."),
        Output(name="label", type="bool", description="True when the score reaches the threshold."),
    ]


# --- budgets and costs ---


class Budgets(_Model):
    """Resource limits the model must meet in the production runtime; each is optional."""

    latency_p99_ms: Positive | None = Field(
        default=None, title="Latency p99 (ms)", description="99th percentile latency of one request, in ms."
    )
    memory_mb: Positive | None = Field(
        default=None, title="Memory (MB)", description="Resident memory of the loaded model, in MB."
    )
    artifact_mb: Positive | None = Field(
        default=None, title="Artifact size (MB)", description="Size of the stored model artifact, in MB."
    )

    def as_dict(self) -> dict[str, float]:
        """The budgets that are set, by name."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


_AMOUNT_HELP = " A number, or an expression over the row's columns such as '12 * monthly_charges'."


class CostModel(_Model):
    """The cost of each outcome. The model 'acts' on a row when its score reaches the threshold."""

    true_positive: Amount = Field(
        default=0.0, title="True positive cost", description="Acted, and the row was positive." + _AMOUNT_HELP
    )
    false_positive: Amount = Field(
        default=0.0,
        title="False positive cost",
        description="Acted, but the row was negative." + _AMOUNT_HELP,
    )
    true_negative: Amount = Field(
        default=0.0,
        title="True negative cost",
        description="Did not act, and the row was negative." + _AMOUNT_HELP,
    )
    false_negative: Amount = Field(
        default=0.0,
        title="False negative cost",
        description="Did not act, but the row was positive." + _AMOUNT_HELP,
    )

    def expression(self, outcome: Outcome) -> Expression:
        """The cost of ``outcome`` as a parsed expression (a number becomes a constant expression)."""
        amount = getattr(self, outcome)
        return parse_expression(amount if isinstance(amount, str) else repr(amount))

    def expressions(self) -> dict[Outcome, Expression]:
        """All four costs as parsed expressions, by outcome."""
        outcomes: tuple[Outcome, ...] = ("true_positive", "false_positive", "true_negative", "false_negative")
        return {outcome: self.expression(outcome) for outcome in outcomes}

    def with_overrides(self, overrides: CostOverrides | None) -> CostModel:
        """This cost model with the amounts ``overrides`` sets replaced."""
        if overrides is None:
            return self
        return self.model_copy(update=overrides.model_dump(exclude_none=True))


class CostOverrides(_Model):
    """Costs that differ in a segment; the outcomes not listed keep the use case's costs."""

    true_positive: Amount | None = Field(
        default=None, title="True positive cost", description="Overrides costs.true_positive." + _AMOUNT_HELP
    )
    false_positive: Amount | None = Field(
        default=None,
        title="False positive cost",
        description="Overrides costs.false_positive." + _AMOUNT_HELP,
    )
    true_negative: Amount | None = Field(
        default=None, title="True negative cost", description="Overrides costs.true_negative." + _AMOUNT_HELP
    )
    false_negative: Amount | None = Field(
        default=None,
        title="False negative cost",
        description="Overrides costs.false_negative." + _AMOUNT_HELP,
    )


# --- segments and gates ---


class Guard(_Model):
    """A metric that must not get worse in a segment when a candidate replaces the champion."""

    metric: MetricName = Field(title="Metric", description="The metric to watch in the segment.")
    must: Literal["not_increase", "not_decrease"] = Field(
        title="Must", description="not_increase for error rates and costs, not_decrease for scores."
    )
    tolerance: Annotated[float, Field(ge=0)] = Field(
        default=0.0,
        title="Tolerance",
        description="How much worse the metric may get before the guard fails.",
    )


class Segment(_Model):
    """A slice of the rows, with its own costs and guards."""

    name: str = Field(min_length=1, title="Name", description="A short name for the segment.")
    filter: Condition = Field(
        title="Filter", description="A condition over the columns, e.g. \"contract != 'Month-to-month'\"."
    )
    costs: CostOverrides | None = Field(
        default=None, title="Costs", description="Costs that differ in this segment (any of the four)."
    )
    guards: Annotated[list[Guard], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list, title="Guards", description="Metrics that must not get worse in this segment."
    )

    @property
    def filter_expression(self) -> Expression:
        """The filter, parsed."""
        return parse_expression(self.filter)


class MetricGate(_Model):
    """Pass when a metric of the candidate compares well with a fixed value, e.g. roc_auc >= 0.75."""

    kind: Literal["metric"] = Field(title="Kind", description="An absolute threshold on a metric.")
    metric: MetricName = Field(title="Metric", description="The metric to compare.")
    op: Literal[">=", ">", "<=", "<"] = Field(title="Operator", description="How to compare: >=, >, <= or <.")
    value: float = Field(title="Value", description="The value to compare the metric with.")


class BeatsChampionGate(_Model):
    """Pass when the candidate beats the production model on a metric with this probability (bootstrap)."""

    kind: Literal["beats_champion"] = Field(title="Kind", description="A comparison with the champion.")
    metric: MetricName = Field(
        default="expected_cost",
        title="Metric",
        description="The metric to compare; expected_cost by default.",
    )
    probability: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.95, title="Probability", description="Required probability that the candidate is better."
    )


class BudgetGate(_Model):
    """Pass when the handoff check's measured value stays within a budget."""

    kind: Literal["budget"] = Field(title="Kind", description="A check against one of the budgets.")
    budget: BudgetName = Field(title="Budget", description="Which budget; it must be set under budgets.")


Gate = Annotated[MetricGate | BeatsChampionGate | BudgetGate, Field(discriminator="kind")]


class DataSource(_Model):
    """Where the training data comes from and which columns play which role."""

    source: str = Field(
        min_length=1,
        title="Source",
        description="A path or glob of Parquet/CSV files, a database URL (postgresql://...?table=NAME), or a "
        "Spark table or path (spark:TABLE, spark:parquet:PATH, spark:csv:PATH).",
    )
    label: str = Field(min_length=1, title="Label column", description="The column holding the outcome.")
    time: str | None = Field(
        default=None, title="Time column", description="The column that orders rows in time, if any."
    )
    entity_key: str | None = Field(
        default=None, title="Entity key", description="The column identifying the entity (e.g. customer id)."
    )
    features: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] | None = Field(
        default=None,
        title="Feature code",
        description="Import path 'module:function' of the code that turns raw rows into inputs.",
    )
    extra_columns: Annotated[list[str], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list,
        title="Extra columns",
        description="Raw columns, besides the inputs, that cost and filter expressions may use.",
    )


# --- the use case ---


class UseCase(_Model):
    """A product use case: what the model predicts, from what, under which budgets, at what cost."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")] = Field(
        title="Name", description="The use case's name: lowercase letters, digits, '_' or '-'; the file stem."
    )
    description: str = Field(default="", title="Description", description="The question the model answers.")
    task: Annotated[Literal["binary_classification"], BeforeValidator(_task)] = Field(
        title="Task", description="What kind of prediction; only binary_classification for now."
    )
    positive_label: LabelValue = Field(
        default=True,
        title="Positive label",
        description="The label value that means the positive class (true by default).",
    )
    inputs: list[Feature] = Field(
        min_length=1, title="Inputs", description="The input contract: the columns the model receives."
    )
    outputs: list[Output] = Field(
        default_factory=_default_outputs,
        title="Outputs",
        description="The columns the model returns; score (float in [0, 1]) and label (bool) by default.",
    )
    budgets: Budgets = Field(
        default_factory=Budgets, title="Resource budgets", description="Latency, memory and size limits."
    )
    costs: CostModel = Field(title="Costs", description="The cost of each outcome of a decision.")
    segments: Annotated[list[Segment], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list, title="Segments", description="Slices of rows with their own costs and guards."
    )
    gates: Annotated[list[Gate], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list, title="Gates", description="Checks a candidate must pass to be promoted."
    )
    data: DataSource = Field(title="Data", description="Where the data comes from and its special columns.")

    _sha256: str | None = PrivateAttr(default=None)
    _source_path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_across_sections(self, info: ValidationInfo) -> Self:
        if not (info.context or {}).get("skip_cross_checks"):
            problems = cross_check(self.to_yaml_dict())
            if problems:
                raise Problems(problems)
        return self

    @property
    def sha256(self) -> str | None:
        """Hash of the spec file's bytes; None when the use case was not loaded from a file."""
        return self._sha256

    @property
    def source_path(self) -> Path | None:
        """The file the use case was loaded from, if any."""
        return self._source_path

    def _set_source(self, path: Path, sha256: str) -> None:
        self._source_path = path
        self._sha256 = sha256

    @property
    def input_names(self) -> tuple[str, ...]:
        """The input columns' names, in spec order."""
        return tuple(feature.name for feature in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The output columns' names, in spec order."""
        return tuple(output.name for output in self.outputs)

    @property
    def known_columns(self) -> frozenset[str]:
        """Columns cost and filter expressions may use: inputs, extra columns and the label."""
        return frozenset((*self.input_names, *self.data.extra_columns, self.data.label))

    def feature(self, name: str) -> Feature:
        """The input called ``name``; raise NotFoundError listing the inputs otherwise."""
        for feature in self.inputs:
            if feature.name == name:
                return feature
        guess = closest(name, self.input_names)
        hint = f"did you mean {guess!r}? " if guess else ""
        raise NotFoundError(
            f"use case {self.name!r} has no input {name!r}; {hint}inputs: {', '.join(self.input_names)}"
        )

    def segment(self, name: str) -> Segment:
        """The segment called ``name``; raise NotFoundError listing the segments otherwise."""
        for segment in self.segments:
            if segment.name == name:
                return segment
        names = ", ".join(s.name for s in self.segments) or "(none)"
        raise NotFoundError(f"use case {self.name!r} has no segment {name!r}; segments: {names}")

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data (JSON types only) that loads back into an equal use case."""
        return self.model_dump(mode="json", exclude_none=True)
