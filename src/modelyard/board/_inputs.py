"""Checking what people type: item ids, risks, targets, dates, quarters. One place, one message shape."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from modelyard._exceptions import UsageError
from modelyard.board._records import Risk, Target
from modelyard.spec import KNOWN_METRICS

__all__ = [
    "TARGET_METRICS",
    "normalize_item_id",
    "parse_date",
    "parse_quarter",
    "parse_risk",
    "parse_since",
    "parse_target",
    "quarter_of",
]

#: Metrics a target may name: every metric a gate knows, plus a cost saving in money.
TARGET_METRICS: tuple[str, ...] = (*KNOWN_METRICS, "cost_saving")
_TARGET = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_ITEM = re.compile(r"^(?:RI-?)?(\d+)$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_SINCE = re.compile(r"^(\d+)\s*([dw])$", re.IGNORECASE)


def normalize_item_id(value: str) -> str:
    """``RI-3`` from ``RI-3``, ``ri-3`` or ``3``."""
    match = _ITEM.match(str(value).strip())
    if not match:
        raise UsageError(f"The item id {value!r} is not a research item id; write it as RI-<number>, e.g. RI-3")
    return f"RI-{int(match.group(1))}"


def parse_risk(value: str | Risk) -> Risk:
    if isinstance(value, Risk):
        return value
    try:
        return Risk(str(value).strip().lower())
    except ValueError:
        raise UsageError(f"The risk {value!r} is not a risk level; use safe or risky") from None


def parse_target(value: str | Target) -> Target:
    """``roc_auc>=0.64`` → Target; the metric must be one modelyard measures."""
    if isinstance(value, Target):
        metric, op, number = value.metric, value.op, value.value
    else:
        match = _TARGET.match(str(value))
        if not match:
            raise UsageError(
                f"The target {value!r} is not METRIC OP VALUE; write e.g. 'roc_auc>=0.64' or 'cost_saving>=20000'"
            )
        metric, op, number = match.group(1).lower(), match.group(2), float(match.group(3))
    if metric not in TARGET_METRICS:
        raise UsageError(
            f"The target {str(value)!r} names an unknown metric {metric!r}; use one of {', '.join(TARGET_METRICS)}"
        )
    return Target(metric, op, float(number))


def parse_date(value: date | str, field: str = "expected drop date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UsageError(f"The {field} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-15") from None


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def parse_quarter(value: str) -> str:
    match = _QUARTER.match(str(value).strip())
    if not match:
        raise UsageError(f"The quarter {value!r} is not a quarter; write it as YYYYQn, e.g. 2027Q1")
    return f"{match.group(1)}Q{match.group(2)}"


def parse_since(value: str | timedelta | date, today: date) -> date:
    """The first day a report covers: ``14d``, ``2w``, a date, or a timedelta back from ``today``."""
    if isinstance(value, timedelta):
        return today - value
    if isinstance(value, date):
        return value
    match = _SINCE.match(str(value).strip())
    if match:
        n = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
        return today - timedelta(days=n)
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UsageError(f"--since {value!r} is neither a span nor a date; write e.g. 14d, 2w or 2026-11-01") from None
