"""Which deployed version answers a request: production, or the canary for a sticky fraction."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["TrafficSplit", "canary_bucket", "takes_canary"]

_SCALE = float(2**64)


def canary_bucket(use_case: str, entity: Any) -> float:
    """A stable number in [0, 1) for an entity: the same customer always lands in the same bucket."""
    digest = hashlib.blake2b(f"{use_case}\x00{entity}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def takes_canary(use_case: str, entity: Any, fraction: float, rng: random.Random | None = None) -> bool:
    """Whether a request goes to the canary: by the entity key's bucket when the request carries
    one (sticky: an entity keeps its model while the fraction stays), else at random."""
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    if entity is None:
        return (rng or random).random() < fraction
    return canary_bucket(use_case, entity) < fraction


@dataclass(frozen=True)
class TrafficSplit:
    """The canary fraction set for one use case, by whom, why and when (a row of ``traffic_splits``)."""

    use_case: str
    canary_fraction: float
    canary_version: int | None
    actor: str
    reason: str
    at: datetime

    def applies_to(self, canary_version: int | None) -> bool:
        """Whether this split is for that canary: the one that was canary when it was set (a split set
        with no canary waits for the next one). A new canary starts from the server's default."""
        return self.canary_version is None or self.canary_version == canary_version

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TrafficSplit:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return {
            "canary_fraction": self.canary_fraction,
            "set_by": self.actor,
            "reason": self.reason,
            "set_at": self.at.isoformat(),
        }
