"""The research stage machine.

Forward moves may skip stages (work often happens before anyone updates the board):
idea → exploring → productionizing → shipped. Going back is allowed one step at a time
(productionizing → exploring when a candidate fails its check, exploring → idea when a line of
research is shelved to be rethought). Any open item can be dropped. Shipped and dropped are final
for moves by hand; only the registry takes a shipped item back to productionizing, when its model
is rolled back out of production or retired and no other model of it is in production
(:mod:`modelyard.board._automation`).
"""

from __future__ import annotations

from modelyard._exceptions import IllegalStageChangeError, UsageError
from modelyard.board._records import ItemStage

__all__ = ["ALLOWED_ITEM_MOVES", "check_item_move", "parse_item_stage"]

_ORDER = (ItemStage.IDEA, ItemStage.EXPLORING, ItemStage.PRODUCTIONIZING, ItemStage.SHIPPED)


def _allowed(current: ItemStage) -> frozenset[ItemStage]:
    if current in (ItemStage.SHIPPED, ItemStage.DROPPED):
        return frozenset()
    i = _ORDER.index(current)
    targets = set(_ORDER[i + 1 :]) | {ItemStage.DROPPED}
    if i > 0:
        targets.add(_ORDER[i - 1])
    return frozenset(targets)


ALLOWED_ITEM_MOVES: dict[ItemStage, frozenset[ItemStage]] = {s: _allowed(s) for s in ItemStage}


def parse_item_stage(value: str | ItemStage) -> ItemStage:
    if isinstance(value, ItemStage):
        return value
    try:
        return ItemStage(str(value).strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in ItemStage)
        raise UsageError(f"The stage {value!r} is not a research stage; use one of {names}") from None


def check_item_move(item_id: str, current: ItemStage, target: ItemStage) -> None:
    """Raise :class:`IllegalStageChangeError` unless ``current → target`` is allowed."""
    if current == target:
        raise IllegalStageChangeError(f"{item_id} is already {target.value}; nothing to change")
    if target in ALLOWED_ITEM_MOVES[current]:
        return
    if current in (ItemStage.SHIPPED, ItemStage.DROPPED):
        raise IllegalStageChangeError(
            f"{item_id} is {current.value}, which is final; add a new item for new work (modelyard board add)"
        )
    allowed = ", ".join(s.value for s in ItemStage if s in ALLOWED_ITEM_MOVES[current])
    raise IllegalStageChangeError(
        f"{item_id} cannot move from {current.value} to {target.value} (back only one step at a time); "
        f"from {current.value} it can go to {allowed}"
    )
