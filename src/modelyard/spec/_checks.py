"""Checks that look across sections of a spec (names used in expressions, gates vs budgets, ...).

They work on the plain-data form of a spec (what YAML gives, or ``UseCase.to_yaml_dict()``)
and tolerate malformed parts, so the loader can report them even when other parts are invalid.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._expressions import ExpressionError, parse_expression
from ._issues import Loc, Problem, closest
from ._names import BUDGET_NAMES, OUTCOMES

__all__ = ["cross_check"]


def cross_check(data: Mapping[str, Any]) -> list[Problem]:
    """Every cross-section problem in ``data``, located by key path."""
    problems: list[Problem] = []
    inputs = _unique_names(data, "inputs", "input", problems)
    _unique_names(data, "outputs", "output", problems)
    _unique_names(data, "segments", "segment", problems)

    source = _mapping(data.get("data"))
    extra = [c for c in _list(source.get("extra_columns")) if isinstance(c, str)]
    label = source.get("label") if isinstance(source.get("label"), str) else None
    if label is not None and label in inputs:
        problems.append(
            Problem(
                ("data", "label"),
                f"the label column {label!r} is also an input",
                "remove it from inputs; the model must not see the answer",
                label,
            )
        )
    if isinstance(data.get("inputs"), list):
        known = set(inputs) | set(extra) | ({label} if label else set())
        problems.extend(_unknown_names(data, known))
    problems.extend(_unset_budget_gates(data))
    return problems


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _unique_names(data: Mapping[str, Any], section: str, noun: str, problems: list[Problem]) -> list[str]:
    first: dict[str, int] = {}
    for index, item in enumerate(_list(data.get(section))):
        name = _mapping(item).get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            problems.append(
                Problem(
                    (section, index, "name"),
                    f"{noun} name {name!r} is already used by {section}[{first[name]}]",
                    f"give each {noun} a unique name",
                    name,
                )
            )
        else:
            first[name] = index
    return list(first)


def expression_fields(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """``(loc, text)`` of every expression string in ``data``: cost amounts and segment filters."""
    for outcome in OUTCOMES:
        amount = _mapping(data.get("costs")).get(outcome)
        if isinstance(amount, str):
            yield ("costs", outcome), amount
    for index, segment in enumerate(_list(data.get("segments"))):
        segment = _mapping(segment)
        if isinstance(segment.get("filter"), str):
            yield ("segments", index, "filter"), segment["filter"]
        for outcome in OUTCOMES:
            amount = _mapping(segment.get("costs")).get(outcome)
            if isinstance(amount, str):
                yield ("segments", index, "costs", outcome), amount


def _unknown_names(data: Mapping[str, Any], known: set[str]) -> Iterator[Problem]:
    for loc, text in expression_fields(data):
        try:
            expression = parse_expression(text)
        except ExpressionError:
            continue  # reported where the field itself is validated
        for name in sorted(expression.names - known):
            guess = closest(name, known)
            hint = f"did you mean {guess!r}? " if guess else ""
            yield Problem(
                loc,
                f"unknown column {name!r} in expression {text!r}",
                f"{hint}expressions may use inputs, data.extra_columns and the label column",
                text,
            )


def _unset_budget_gates(data: Mapping[str, Any]) -> Iterator[Problem]:
    budgets = _mapping(data.get("budgets"))
    for index, gate in enumerate(_list(data.get("gates"))):
        gate = _mapping(gate)
        name = gate.get("budget")
        if gate.get("kind") == "budget" and name in BUDGET_NAMES and budgets.get(name) is None:
            yield Problem(
                ("gates", index, "budget"),
                f"the gate checks budget {name!r}, which is not set",
                f"set budgets.{name} or remove this gate",
                name,
            )
