"""The board's records: research items, their updates and links, as immutable objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

__all__ = ["ItemStage", "Link", "ResearchItem", "Risk", "Target", "Update"]


class ItemStage(StrEnum):
    """Where a research item stands: idea → exploring → productionizing → shipped, or dropped."""

    IDEA = "idea"
    EXPLORING = "exploring"
    PRODUCTIONIZING = "productionizing"
    SHIPPED = "shipped"
    DROPPED = "dropped"


class Risk(StrEnum):
    """How likely the research is to fail: down-to-earth work, or a bet."""

    SAFE = "safe"
    RISKY = "risky"


@dataclass(frozen=True)
class Target:
    """What the research aims at: a metric (``roc_auc >= 0.64``) or a cost saving (``cost_saving >= 20000``)."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def met_by(self, value: float) -> bool:
        return {
            ">=": value >= self.value,
            ">": value > self.value,
            "<=": value <= self.value,
            "<": value < self.value,
        }[self.op]


@dataclass(frozen=True)
class Link:
    """A model version produced by a research item."""

    item_id: str
    use_case: str
    version: int
    linked_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.use_case}/v{self.version}"


@dataclass(frozen=True)
class Update:
    """One dated entry of an item's history: a note, a stage move (with its cause), a link, a study."""

    id: int
    item_id: str
    kind: str
    text: str
    author: str
    at: datetime
    from_stage: ItemStage | None = None
    to_stage: ItemStage | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        out["from_stage"] = self.from_stage.value if self.from_stage else None
        out["to_stage"] = self.to_stage.value if self.to_stage else None
        return out


@dataclass(frozen=True)
class ResearchItem:
    """A piece of research on the board, with the model versions it produced."""

    id: str
    number: int
    title: str
    hypothesis: str
    owner: str
    team: str
    risk: Risk
    stage: ItemStage
    created_at: datetime
    updated_at: datetime
    use_case: str | None = None
    target: Target | None = None
    expected_drop: date | None = None
    quarter: str | None = None
    links: tuple[Link, ...] = field(default_factory=tuple)

    @property
    def is_open(self) -> bool:
        """Still on its way: neither shipped nor dropped."""
        return self.stage not in (ItemStage.SHIPPED, ItemStage.DROPPED)

    def overdue(self, today: date) -> bool:
        return self.is_open and self.expected_drop is not None and self.expected_drop < today

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "hypothesis": self.hypothesis,
            "use_case": self.use_case,
            "owner": self.owner,
            "team": self.team,
            "risk": self.risk.value,
            "stage": self.stage.value,
            "target": str(self.target) if self.target else None,
            "expected_drop": self.expected_drop.isoformat() if self.expected_drop else None,
            "quarter": self.quarter,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "links": [link.ref for link in self.links],
        }
