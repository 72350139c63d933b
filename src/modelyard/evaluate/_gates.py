"""Gates and guards from the spec, each checked with its interval, and the verdict.

Every check ends in one of three states:

- ``pass``: the whole interval meets the bound (or the budget is met, or the challenger is better
  with the required probability);
- ``fail``: the whole interval misses it (or the budget is exceeded, or the *champion* is better
  with the required probability);
- ``uncertain``: the interval straddles the bound, the probability is in between, or a budget was
  never measured.

Verdict: BLOCK when any check fails, else HOLD when any is uncertain, else PROMOTE.

Besides the spec's gates and guards, the evaluation itself may add one check of kind ``data``:
"training rows", when the data was evaluated although it holds rows a version learnt from
(see :func:`modelyard.evaluate._leakage.allowed_training_rows_check`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from modelyard.evaluate._format import fmt
from modelyard.evaluate._metrics import HIGHER_IS_BETTER
from modelyard.spec import BeatsChampionGate, BudgetGate, MetricGate, UseCase

__all__ = ["BLOCK", "HOLD", "PROMOTE", "Check", "check_gates", "verdict_of"]

PROMOTE, HOLD, BLOCK = "PROMOTE", "HOLD", "BLOCK"

_OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


@dataclass(frozen=True)
class Check:
    """One gate or guard: what it is, its state, and one line saying why."""

    gate: str
    kind: str
    status: str
    reason: str
    value: dict[str, float] | None = None
    bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(x: float | None, digits: int = 3) -> str:
    return fmt(x, digits)


def _with_interval(iv: Mapping[str, float]) -> str:
    return f"{_fmt(iv['value'])} [{_fmt(iv['low'])}, {_fmt(iv['high'])}]"


def _interval_status(iv: Mapping[str, float], op: str, bound: float) -> str:
    values = [iv.get("low"), iv.get("high"), iv.get("value")]
    if any(v is None or math.isnan(v) for v in values):
        return "uncertain"
    compare = _OPS[op]
    ends = [compare(iv["low"], bound), compare(iv["high"], bound)]
    if all(ends):
        return "pass"
    if not any(ends):
        return "fail"
    return "uncertain"


_WORDS = {"pass": "passes", "fail": "fails", "uncertain": "is uncertain"}


def _metric_gate(gate: MetricGate, result: Mapping[str, Any]) -> Check:
    name = f"{gate.metric} {gate.op} {gate.value:g}"
    iv = result["models"]["challenger"]["metrics"].get(gate.metric)
    if iv is None:
        return Check(name, "metric", "uncertain", f"{name}: {gate.metric} could not be measured", None, gate.value)
    status = _interval_status(iv, gate.op, gate.value)
    level = round(float(iv.get("level", 0.95)) * 100)
    reason = f"{name} {_WORDS[status]}: {gate.metric} = {_with_interval(iv)} ({level}% interval), bound {gate.value:g}"
    return Check(name, "metric", status, reason, dict(iv), gate.value)


def _beats_gate(gate: BeatsChampionGate, result: Mapping[str, Any]) -> Check:
    comparison = result["comparison"]
    baseline = comparison["baseline"]
    name = f"beats {baseline} on {gate.metric} with probability >= {gate.probability:g}"
    p = comparison["probability_better"].get(gate.metric)
    diff = comparison["difference"].get(gate.metric)
    if p is None or math.isnan(p):
        return Check(name, "beats_champion", "uncertain", f"{name}: not measurable", None, gate.probability)
    if p >= gate.probability:
        status = "pass"
    elif 1 - p >= gate.probability:
        status = "fail"
    else:
        status = "uncertain"
    if gate.metric in ("expected_cost", "cost_per_1000"):
        saving = comparison["saving_per_1000"]
        detail = f"saving per 1,000 decisions {_with_interval(saving)}"
    else:
        better = "higher" if gate.metric in HIGHER_IS_BETTER else "lower"
        detail = f"difference {_with_interval(diff)} ({better} is better)" if diff else ""
    reason = f"{name} {_WORDS[status]}: P(challenger better) = {p:.3f}, {detail}; bound {gate.probability:g}"
    return Check(name, "beats_champion", status, reason, diff, gate.probability)


def _budget_gate(gate: BudgetGate, use_case: UseCase, measurements: Mapping[str, Any] | None) -> Check:
    bound = use_case.budgets.as_dict().get(gate.budget)
    name = f"{gate.budget} <= {_fmt(bound, 1)}"
    value = (measurements or {}).get(gate.budget)
    if bound is None:
        return Check(name, "budget", "uncertain", f"budget {gate.budget} is not set in the spec", None, None)
    if value is None:
        reason = (
            f"{name} is uncertain: no handoff-check measurement of {gate.budget} for this version; "
            f"run 'modelyard check' first; bound {bound:g}"
        )
        return Check(name, "budget", "uncertain", reason, None, bound)
    status = "pass" if float(value) <= bound else "fail"
    iv = {"value": float(value), "low": float(value), "high": float(value), "level": 1.0}
    reason = f"{name} {_WORDS[status]}: {gate.budget} = {_fmt(float(value), 1)} (handoff check), bound {bound:g}"
    return Check(name, "budget", status, reason, iv, bound)


def _guards(use_case: UseCase, result: Mapping[str, Any]) -> list[Check]:
    checks = []
    by_name = {s["name"]: s for s in result.get("segments", [])}
    baseline = result["comparison"]["baseline"]
    for segment in use_case.segments:
        seg = by_name.get(segment.name)
        for guard in segment.guards:
            verb = "rise" if guard.must == "not_increase" else "fall"
            name = f"{guard.metric} in segment {segment.name} must not {verb} (tolerance {guard.tolerance:g})"
            diff = (seg or {}).get("difference", {}).get(guard.metric)
            if diff is None:
                checks.append(Check(name, "guard", "uncertain", f"{name}: not measurable", None, guard.tolerance))
                continue
            if guard.must == "not_increase":
                status = _interval_status(diff, "<=", guard.tolerance)
                bound = guard.tolerance
            else:
                status = _interval_status(diff, ">=", -guard.tolerance)
                bound = -guard.tolerance
            reason = (
                f"{name} {_WORDS[status]}: change vs {baseline} = {_with_interval(diff)} "
                f"over {seg['rows'] if seg else 0} rows, bound {bound:+g}"
            )
            checks.append(Check(name, "guard", status, reason, dict(diff), bound))
    return checks


def check_gates(
    use_case: UseCase, result: Mapping[str, Any], measurements: Mapping[str, Any] | None = None
) -> list[Check]:
    """Every gate of the spec, then every segment guard, in spec order."""
    checks: list[Check] = []
    for gate in use_case.gates:
        if isinstance(gate, MetricGate):
            checks.append(_metric_gate(gate, result))
        elif isinstance(gate, BeatsChampionGate):
            checks.append(_beats_gate(gate, result))
        else:
            checks.append(_budget_gate(gate, use_case, measurements))
    checks.extend(_guards(use_case, result))
    return checks


def verdict_of(checks: list[Check]) -> str:
    """BLOCK when a check fails, HOLD when one is uncertain, PROMOTE otherwise."""
    states = {c.status for c in checks}
    if "fail" in states:
        return BLOCK
    if "uncertain" in states:
        return HOLD
    return PROMOTE
