"""Checking what people type: item ids, risks, targets, dates, quarters. One place, one message shape."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

from modelyard._exceptions import UsageError
from modelyard.board._records import Risk, Target
from modelyard.registry._registry import check_audit_text
from modelyard.spec import KNOWN_METRICS

__all__ = [
    "SINCE_DAYS_MAX",
    "TARGET_METRICS",
    "WEEKS_MAX",
    "check_text",
    "check_weeks",
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
#: Metrics that are shares or probabilities: a target for one lies in [0, 1]. A log loss is at least
#: 0; costs and savings may take any value.
_UNIT_METRICS = frozenset(KNOWN_METRICS) - {"log_loss", "expected_cost", "cost_per_1000"}
_NON_NEGATIVE_METRICS = frozenset({"log_loss"})

#: The furthest ahead the radar (and the report's "coming up") looks: ten years.
WEEKS_MAX = 520
#: The furthest back a report (``--since``) reaches: twenty years, in days.
SINCE_DAYS_MAX = 7305


def check_text(name: str, value: object, most: int, *, required: str | None = None) -> str:
    """``value`` stripped, as board text: a str without control characters (other than tab and
    newline) and of at most ``most`` characters. ``required`` is an example; without it, "" is fine."""
    if not isinstance(value, str):
        raise UsageError(f"The {name} must be text (str). Got {value!r} instead.")
    text = value.strip()
    if required is not None and not text:
        article = "an" if name[0] in "aeiou" else "a"
        raise UsageError(f"A research item needs {article} {name}; got {value!r}. Give one, e.g. {required}")
    return check_audit_text(name, text, most)


def check_weeks(weeks: object) -> int:
    """How many weeks ahead to look: a whole number from 1 to :data:`WEEKS_MAX`."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= WEEKS_MAX:
        raise UsageError(
            f"The weeks to look ahead (--weeks) must be a whole number from 1 to {WEEKS_MAX} (ten years). "
            f"Got {weeks!r} instead."
        )
    return weeks


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
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise UsageError(f"The target {str(value)!r} needs a finite number after {op}; write e.g. 'roc_auc>=0.64'")
    if metric in _UNIT_METRICS and not 0.0 <= number <= 1.0:
        raise UsageError(
            f"The target {str(value)!r} is outside the range of {metric}, which is from 0 to 1; "
            f"give a value in [0, 1], e.g. '{metric}{op}0.8'"
        )
    if metric in _NON_NEGATIVE_METRICS and number < 0:
        raise UsageError(
            f"The target {str(value)!r} is below 0, which {metric} never is; give a value of 0 or more, "
            f"e.g. '{metric}{op}0.4'"
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
    """The first day a report covers: ``14d``, ``2w``, a date, or a timedelta back from ``today``;
    on or before ``today`` and at most :data:`SINCE_DAYS_MAX` days before it."""
    if isinstance(value, timedelta):
        days = value.days
    elif isinstance(value, date):
        days = (today - (value.date() if isinstance(value, datetime) else value)).days
    elif isinstance(value, str):
        text = value.strip()
        match = _SINCE.match(text)
        if match:
            days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
        else:
            try:
                days = (today - date.fromisoformat(text)).days
            except ValueError:
                raise UsageError(
                    f"--since {value!r} is neither a span nor a date; write e.g. 14d, 2w or 2026-11-01"
                ) from None
    else:
        raise UsageError(f"--since (since) must be a span such as '14d', a date or a timedelta. Got {value!r} instead.")
    if days < 0:
        raise UsageError(
            f"--since {_shown(value)} is after today ({today.isoformat()}); a report covers the past: "
            "give a day on or before today, or a span such as 14d"
        )
    if days > SINCE_DAYS_MAX:
        raise UsageError(
            f"--since {_shown(value)} reaches back further than {SINCE_DAYS_MAX:,} days (20 years); "
            f"give a span of at most {SINCE_DAYS_MAX}d or a date from {today - timedelta(days=SINCE_DAYS_MAX)}"
        )
    return today - timedelta(days=days)


def _shown(value: str | timedelta | date) -> str:
    if isinstance(value, timedelta):
        return f"{value.days}d"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)
