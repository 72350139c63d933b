"""Which deployed version answers a request: production, or the canary for a sticky fraction."""

from __future__ import annotations

import hashlib
import random
from typing import Any

__all__ = ["canary_bucket", "takes_canary"]

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
