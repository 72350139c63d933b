"""The registry listener that keeps the board in step with the models research produces."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from modelyard.board import _repository as repo
from modelyard.board._automation import follow_version
from modelyard.board._inputs import normalize_item_id
from modelyard.store import ModelVersion, Stage, StageChange, Store

__all__ = ["BoardListener"]


def _item_id(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalize_item_id(text)
    except Exception:
        return None  # a free-text research reference: nothing on the board to move


class BoardListener:
    """Moves research items when their models are registered or shipped (a ``RegistryListener``).

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
            version.stage == Stage.PRODUCTION,
            cause=f"{version.ref} registered by {version.author}",
            author=version.author,
            now=version.created_at,
        )

    def on_stage_changes(self, conn: Connection, changes: list[StageChange]) -> None:
        for change in changes:
            if change.to_stage != Stage.PRODUCTION:
                continue
            ids = set(repo.items_linked_to(conn, change.use_case, change.version))
            mv = Store.get_version(conn, change.use_case, change.version)
            named = _item_id(mv.research_item) if mv else None
            if named:
                ids.add(named)
            for item_id in sorted(ids):
                item = repo.get_item(conn, item_id)
                if item is None:
                    continue
                follow_version(
                    conn,
                    item,
                    change.use_case,
                    change.version,
                    True,
                    cause=f"promoted by {change.actor}: {change.reason}",
                    author=change.actor,
                    now=change.at,
                )
