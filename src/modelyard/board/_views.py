"""The board's views as plain data: the Kanban, the portfolio, the drop radar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from modelyard.board._records import ItemStage, ResearchItem, Risk
from modelyard.board._settings import BoardSettings
from modelyard.store import Store

__all__ = [
    "Effort",
    "Kanban",
    "Portfolio",
    "PortfolioRow",
    "Radar",
    "RadarEntry",
    "Saving",
    "Sprint",
    "build_kanban",
    "build_portfolio",
    "build_radar",
    "effort_of",
    "saving_of",
    "sprint_of",
]


@dataclass(frozen=True)
class Kanban:
    """Items by stage, in board order."""

    columns: dict[ItemStage, list[ResearchItem]]

    def to_dict(self) -> dict[str, Any]:
        return {stage.value: [i.to_dict() for i in items] for stage, items in self.columns.items()}


def build_kanban(items: Iterable[ResearchItem]) -> Kanban:
    columns: dict[ItemStage, list[ResearchItem]] = {stage: [] for stage in ItemStage}
    for item in items:
        columns[item.stage].append(item)
    return Kanban(columns)


@dataclass(frozen=True)
class PortfolioRow:
    """The risky share of one owner's or one team's open items, against the policy."""

    group: str  # "owner" | "team" | "all"
    name: str
    items: int
    risky: int
    share: float
    status: str  # "ok" | "too safe" | "too risky"
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Portfolio:
    risky_min: float
    risky_max: float
    rows: list[PortfolioRow]

    @property
    def warnings(self) -> list[str]:
        return [r.warning for r in self.rows if r.warning]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {"risky_min": self.risky_min, "risky_max": self.risky_max},
            "rows": [r.to_dict() for r in self.rows],
            "warnings": self.warnings,
        }


def build_portfolio(items: Iterable[ResearchItem], settings: BoardSettings) -> Portfolio:
    """Risky share of open items (idea, exploring, productionizing) per owner, per team and overall."""
    open_items = [i for i in items if i.is_open]
    rows: list[PortfolioRow] = []
    for group, key in (("owner", lambda i: i.owner), ("team", lambda i: i.team), ("all", lambda i: "everyone")):
        names = sorted({key(i) for i in open_items})
        for name in names:
            mine = [i for i in open_items if key(i) == name]
            risky = sum(i.risk == Risk.RISKY for i in mine)
            share = risky / len(mine)
            status, warning = "ok", None
            label = f"{group} {name}" if group != "all" else "the whole board"
            policy = f"policy {settings.risky_min:.0%}–{settings.risky_max:.0%}"
            if share < settings.risky_min:
                status = "too safe"
                warning = (
                    f"{label}: {risky} of {len(mine)} open items risky ({share:.0%}), below the {policy}; take on a bet"
                )
            elif share > settings.risky_max:
                status = "too risky"
                warning = (
                    f"{label}: {risky} of {len(mine)} open items risky ({share:.0%}), above the {policy}; "
                    "balance with down-to-earth work"
                )
            rows.append(PortfolioRow(group, name, len(mine), risky, share, status, warning))
    return Portfolio(settings.risky_min, settings.risky_max, rows)


@dataclass(frozen=True)
class Effort:
    """What integrating one linked version will take, from its handoff check and its evaluation."""

    ref: str
    stage: str
    checked: bool
    check_passed: bool | None
    contract_differences: list[str]
    budget_failures: list[str]
    verdict: str | None
    saving: Saving | None  # per 1,000 decisions, from the latest evaluation

    @property
    def summary(self) -> str:
        parts = [f"{self.ref} ({self.stage})"]
        if not self.checked:
            parts.append("not checked yet")
        else:
            n = len(self.contract_differences)
            b = len(self.budget_failures)
            parts.append("check passed" if self.check_passed else "check failed")
            if n:
                parts.append(f"{n} contract difference{'s' if n != 1 else ''}")
            if b:
                parts.append(f"{b} budget failure{'s' if b != 1 else ''}")
        parts.append(f"gate {self.verdict}" if self.verdict else "not evaluated")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "saving": self.saving.to_dict() if self.saving else None,
            "summary": self.summary,
        }


_BUDGET_WORDS = ("budget", "latency", "memory", "artifact", "size", "soak")


def _check_findings(result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Contract differences and budget failures from a stored check result.

    Reads ``checks`` (a list of ``{name, status, message|fix, category?}``) where FAIL/WARN entries
    about latency, memory, size or budgets count as budget failures and the rest as contract
    differences; explicit ``contract_differences`` / ``budget_failures`` lists are taken as they are.
    """
    contract = [str(x) for x in result.get("contract_differences") or []]
    budgets = [str(x) for x in result.get("budget_failures") or []]
    checks = result.get("checks")
    if isinstance(checks, list):
        for check in checks:
            if not isinstance(check, dict):
                continue
            status = str(check.get("status", "")).upper()
            if status not in ("FAIL", "WARN"):
                continue
            name = str(check.get("name") or check.get("check") or "check")
            text = f"{name}: {check.get('message') or check.get('fix') or status}"
            kind = f"{check.get('category') or check.get('kind') or ''} {name}".lower()
            (budgets if any(w in kind for w in _BUDGET_WORDS) else contract).append(text)
    return contract, budgets


@dataclass(frozen=True)
class Saving:
    """What an evaluation says the challenger saves against its champion **per 1,000 decisions**
    (champion cost minus challenger cost, in the cost model's money; positive: the challenger is
    cheaper), with its bootstrap interval: the figure ``modelyard evaluate`` shows in its summary."""

    per_1000: float
    low: float | None = None
    high: float | None = None
    level: float | None = None

    def __str__(self) -> str:
        """``-2,308 [-3,588, -946]``, rounded as the evaluation's summary rounds it."""
        if self.low is None or self.high is None:
            return _amount(self.per_1000)
        return f"{_amount(self.per_1000)} [{_amount(self.low)}, {_amount(self.high)}]"

    def to_dict(self) -> dict[str, Any]:
        return {"per_1000": self.per_1000, "low": self.low, "high": self.high, "level": self.level}


def _amount(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def saving_of(result: dict[str, Any]) -> Saving | None:
    """The saving per 1,000 decisions of a stored evaluation (schema 1: ``comparison.saving_per_1000``).

    An evaluation that only holds the total saving (``comparison.saving``) is scaled by its row count
    (``data.rows``); None when it holds neither, never a total passed off as a rate.
    """
    comparison = result.get("comparison")
    if not isinstance(comparison, dict):
        return None
    rate = comparison.get("saving_per_1000")
    if isinstance(rate, dict) and _number(rate.get("value")) is not None:
        return Saving(
            float(rate["value"]), _number(rate.get("low")), _number(rate.get("high")), _number(rate.get("level"))
        )
    total = comparison.get("saving")
    data = result.get("data")
    rows = _number(data.get("rows")) if isinstance(data, dict) else None
    if isinstance(total, dict) and _number(total.get("value")) is not None and rows:
        scale = 1000.0 / rows
        low, high = _number(total.get("low")), _number(total.get("high"))
        return Saving(
            float(total["value"]) * scale,
            low * scale if low is not None else None,
            high * scale if high is not None else None,
            _number(total.get("level")),
        )
    return None


def effort_of(conn: Connection, use_case: str, version: int) -> Effort:
    mv = Store.get_version(conn, use_case, version)
    check = Store.latest_check_result(conn, use_case, version)
    evaluations = Store.list_evaluations(conn, use_case, version)
    contract, budgets = _check_findings(check.result) if check else ([], [])
    latest = evaluations[-1] if evaluations else None
    return Effort(
        ref=f"{use_case}/v{version}",
        stage=mv.stage.value if mv else "unknown",
        checked=check is not None,
        check_passed=check.passed if check else None,
        contract_differences=contract,
        budget_failures=budgets,
        verdict=latest.verdict if latest else None,
        saving=saving_of(latest.result) if latest else None,
    )


@dataclass(frozen=True)
class RadarEntry:
    item: ResearchItem
    effort: list[Effort]

    def to_dict(self) -> dict[str, Any]:
        return {**self.item.to_dict(), "effort": [e.to_dict() for e in self.effort]}


@dataclass(frozen=True)
class Sprint:
    number: int
    start: date
    end: date  # the last day
    entries: list[RadarEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Sprint {self.number} ({self.start:%b %d} – {self.end:%b %d})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sprint": self.number,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "items": [e.to_dict() for e in self.entries],
        }


@dataclass(frozen=True)
class Radar:
    """Open items expected to drop from ``today`` to ``until``, grouped by sprint; overdue ones apart."""

    today: date
    until: date
    sprints: list[Sprint]
    overdue: list[RadarEntry]

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "until": self.until.isoformat(),
            "sprints": [s.to_dict() for s in self.sprints],
            "overdue": [e.to_dict() for e in self.overdue],
        }


def sprint_of(day: date, start: date, length_days: int) -> tuple[int, date, date]:
    """The sprint holding ``day``: its number (sprint 1 begins at ``start``), first and last day."""
    index = (day - start).days // length_days
    first = start + timedelta(days=index * length_days)
    return index + 1, first, first + timedelta(days=length_days - 1)


def build_radar(
    conn: Connection,
    items: Iterable[ResearchItem],
    *,
    today: date,
    weeks: int,
    sprint_length_days: int,
    sprint_start: date,
) -> Radar:
    until = today + timedelta(weeks=weeks)
    sprints: dict[int, Sprint] = {}
    overdue: list[RadarEntry] = []
    for item in sorted(items, key=lambda i: (i.expected_drop or date.max, i.number)):
        if not item.is_open or item.expected_drop is None or item.expected_drop > until:
            continue
        entry = RadarEntry(item, [effort_of(conn, link.use_case, link.version) for link in item.links])
        if item.expected_drop < today:
            overdue.append(entry)
            continue
        number, first, last = sprint_of(item.expected_drop, sprint_start, sprint_length_days)
        sprints.setdefault(number, Sprint(number, first, last)).entries.append(entry)
    return Radar(today, until, [sprints[k] for k in sorted(sprints)], overdue)
