"""The registry listener that keeps the board in step with the models research produces."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from modelyard.board import _repository as repo
from modelyard.board._automation import ROLLED_BACK, follow_departure, follow_version
from modelyard.board._inputs import normalize_item_id
from modelyard.board._records import ResearchItem
from modelyard.store import ModelVersion, Stage, StageChange, Store

__all__ = ["BoardListener"]


def _item_id(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalize_item_id(text)
    except Exception:
        return None  # a free-text research reference: nothing on the board to move


def _items_of(conn: Connection, use_case: str, version: int) -> list[ResearchItem]:
    """The items a version is linked to, or names as its ``research_item``, in id order."""
    ids = set(repo.items_linked_to(conn, use_case, version))
    mv = Store.get_version(conn, use_case, version)
    named = _item_id(mv.research_item) if mv else None
    if named:
        ids.add(named)
    found = (repo.get_item(conn, item_id) for item_id in sorted(ids, key=lambda i: int(i[3:])))
    return [item for item in found if item is not None]


def _departure(change: StageChange, batch: list[StageChange]) -> tuple[bool, str]:
    """Was the version withdrawn (rolled back, or retired after it served: from production or archived),
    and the event in words, with the audit reason. Retiring a version that never served (a candidate,
    shadow or canary) withdraws nothing: it delivered nothing."""
    ref = f"{change.use_case}/v{change.version}"
    if change.from_stage == Stage.PRODUCTION and change.reason.startswith(ROLLED_BACK):
        why = change.reason.removeprefix(ROLLED_BACK)
        back = next((c for c in batch if c.to_stage == Stage.PRODUCTION and c.replaced_version == change.version), None)
        returned = f"; v{back.version} is back in production" if back else ""
        retired = " and retired" if change.to_stage == Stage.RETIRED else ""
        return True, f"{ref} was rolled back out of production{retired} by {change.actor} ({why}){returned}"
    if change.from_stage == Stage.PRODUCTION:
        return change.to_stage == Stage.RETIRED, f"{ref} left production ({change.reason}; by {change.actor})"
    was = change.from_stage.value if change.from_stage else "new"
    served = change.from_stage == Stage.ARCHIVED  # archived only ever after production
    return served, f"{ref} was retired by {change.actor} ({change.reason}); it was {was} before"


class BoardListener:
    """Moves research items when their models are registered, shipped or withdrawn (a ``RegistryListener``).

    Registered: the item moves to productionizing. Promoted to production: shipped. Rolled back out
    of production, or retired after it served: a shipped item with no other model in production goes
    back to productionizing; retiring a version that never served moves nothing (see
    :mod:`modelyard.board._automation`). Either way the item's history records the event with the
    audit reason.

    It runs inside the registry's transaction: the board moves if and only if the registration or
    stage change commits. A version naming an item the board does not have (yet) is left alone:
    the version row keeps its ``research_item``, and the link is made when the item is created.
    """

    def on_registered(self, conn: Connection, version: ModelVersion) -> None:
        item_id = _item_id(version.research_item)
        item = repo.get_item(conn, item_id) if item_id else None
        if item is None:
            return
        follow_version(
            conn,
            item,
            version.use_case,
            version.version,
            version.stage,
            cause=f"{version.ref} registered by {version.author}",
            author=version.author,
            now=version.created_at,
        )

    def on_stage_changes(self, conn: Connection, changes: list[StageChange]) -> None:
        for change in changes:
            if change.to_stage == Stage.PRODUCTION:
                for item in _items_of(conn, change.use_case, change.version):
                    follow_version(
                        conn,
                        item,
                        change.use_case,
                        change.version,
                        Stage.PRODUCTION,
                        cause=f"promoted by {change.actor}: {change.reason}",
                        author=change.actor,
                        now=change.at,
                    )
            elif change.from_stage == Stage.PRODUCTION or change.to_stage == Stage.RETIRED:
                withdrawn, event = _departure(change, changes)
                for item in _items_of(conn, change.use_case, change.version):
                    follow_departure(
                        conn,
                        item,
                        change.use_case,
                        change.version,
                        withdrawn=withdrawn,
                        event=event,
                        author=change.actor,
                        now=change.at,
                    )
