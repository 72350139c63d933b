"""The board's automatic moves: a registered candidate means productionizing, production means shipped.

Both the registry listener and item creation (for versions registered before their item existed)
go through :func:`follow_version`, so the rule lives in one place and every move records its cause.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from modelyard.board import _repository as repo
from modelyard.board._records import ItemStage, ResearchItem

__all__ = ["follow_version", "move_item"]

_BEFORE_PRODUCTIONIZING = (ItemStage.IDEA, ItemStage.EXPLORING)


def move_item(
    conn: Connection,
    item: ResearchItem,
    target: ItemStage,
    *,
    cause: str,
    author: str,
    now: datetime,
    kind: str = "stage",
) -> None:
    """Set the item's stage and record the move, with its cause, as a dated update."""
    repo.set_stage(conn, item.id, target, now)
    repo.add_update(
        conn,
        item.id,
        kind=kind,
        text=cause,
        author=author,
        at=now,
        from_stage=item.stage,
        to_stage=target,
    )


def follow_version(
    conn: Connection,
    item: ResearchItem,
    use_case: str,
    version: int,
    in_production: bool,
    *,
    cause: str,
    author: str,
    now: datetime,
) -> None:
    """Link a version to an item and move the item as the version's stage says."""
    ref = f"{use_case}/v{version}"
    if repo.add_link(conn, item.id, use_case, version, now):
        repo.add_update(conn, item.id, kind="link", text=f"linked {ref}: {cause}", author=author, at=now)
    current = repo.get_item(conn, item.id)
    assert current is not None  # the caller found it in this transaction
    if in_production and current.is_open:
        move_item(
            conn,
            current,
            ItemStage.SHIPPED,
            cause=f"automatic: {ref} reached production ({cause})",
            author=author,
            now=now,
        )
    elif current.stage in _BEFORE_PRODUCTIONIZING:
        move_item(
            conn,
            current,
            ItemStage.PRODUCTIONIZING,
            cause=f"automatic: {ref} is a candidate ({cause})",
            author=author,
            now=now,
        )
