"""The board's automatic moves: a registered candidate means productionizing, production means shipped,
and a shipped model withdrawn from production (rolled back or retired) sends its item back.

Both the registry listener and item creation (for versions registered before their item existed)
go through :func:`follow_version`; withdrawals go through :func:`follow_departure`. So the rules live
in one place, and every move records its cause.

An item stays shipped while one of its versions is *delivered*: in production now, or archived
because a newer version replaced it (it served until superseded). A version rolled back out of
production, or retired after it served (withdrawn for cause: from production, or archived once
replaced), is not delivered. Retiring a version that never served (a candidate, shadow or canary)
is recorded on the item and moves nothing: it delivered nothing.

A version linked or adopted while retired or archived is recorded too, and moves nothing either: it
is no candidate and will not reach production.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from modelyard.board import _repository as repo
from modelyard.board._records import ItemStage, ResearchItem
from modelyard.store import Stage, Store

__all__ = ["ROLLED_BACK", "delivered", "follow_departure", "follow_version", "move_item"]

_GONE = (Stage.RETIRED, Stage.ARCHIVED)

#: How ``Registry.rollback`` begins the reason of the version it takes out of production; a
#: replaced version's reason begins "replaced by v<n>: " instead. (tests/board pin this through a
#: real rollback, so a change of wording in the registry fails there.)
ROLLED_BACK = "rolled back: "

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
    stage: Stage,
    *,
    cause: str,
    author: str,
    now: datetime,
) -> None:
    """Link a version to an item and move the item as the version's ``stage`` says: production ships
    it, a candidate (candidate, shadow, canary) makes it productionizing, a retired or archived version
    moves nothing (the link's update says so)."""
    ref = f"{use_case}/v{version}"
    gone = stage in _GONE
    if repo.add_link(conn, item.id, use_case, version, now):
        text = f"linked {ref}: {cause}"
        if gone:
            text += f"; {ref} is {stage.value}, so {item.id} does not move"
        repo.add_update(conn, item.id, kind="link", text=text, author=author, at=now)
    if gone:
        return
    current = repo.get_item(conn, item.id)
    assert current is not None  # the caller found it in this transaction
    if stage == Stage.PRODUCTION and current.is_open:
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


def delivered(conn: Connection, use_case: str, version: int) -> str | None:
    """How the version still counts as shipped: "in production", "served until replaced" (archived
    because a newer version replaced it), or None (never in production, rolled back, or retired)."""
    mv = Store.get_version(conn, use_case, version)
    if mv is None:
        return None
    if mv.stage == Stage.PRODUCTION:
        return "in production"
    if mv.stage != Stage.ARCHIVED:
        return None
    left = [
        c
        for c in Store.list_stage_changes(conn, use_case, version)
        if c.from_stage == Stage.PRODUCTION and c.to_stage == Stage.ARCHIVED
    ]
    if not left or left[-1].reason.startswith(ROLLED_BACK):
        return None
    return "served until replaced"


def follow_departure(
    conn: Connection,
    item: ResearchItem,
    use_case: str,
    version: int,
    *,
    withdrawn: bool,
    event: str,
    author: str,
    now: datetime,
) -> None:
    """Record on the item that its version left production or was retired (``event`` says how and why).

    When the version was withdrawn (rolled back, or retired after it served) and the item is shipped
    with no other delivered version, the item goes back to productionizing; otherwise the event is a
    dated update.
    """
    current = repo.get_item(conn, item.id)
    assert current is not None  # the caller found it in this transaction
    text = event
    if withdrawn and current.stage == ItemStage.SHIPPED:
        others = [
            f"{link.ref} ({how})"
            for link in current.links
            if (link.use_case, link.version) != (use_case, version)
            and (how := delivered(conn, link.use_case, link.version)) is not None
        ]
        if not others:
            move_item(
                conn,
                current,
                ItemStage.PRODUCTIONIZING,
                cause=f"automatic: {event}; no other model of {current.id} is in production",
                author=author,
                now=now,
            )
            return
        text = f"{event}; {current.id} stays shipped with {', '.join(others)}"
    repo.add_update(conn, current.id, kind="model", text=text, author=author, at=now)
