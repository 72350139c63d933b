"""The board's tables behind named functions (SQLAlchemy Core); each takes an open ``Connection``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.board._records import ItemStage, Link, ResearchItem, Risk, Target, Update
from modelyard.store._schema import model_versions, research_items, research_links, research_updates

__all__ = [
    "add_link",
    "add_update",
    "get_item",
    "insert_item",
    "items_linked_to",
    "list_items",
    "list_links",
    "list_updates",
    "lock_item",
    "next_number",
    "set_stage",
    "versions_naming",
]


def next_number(conn: Connection) -> int:
    """The next item number. On PostgreSQL a transaction-scoped advisory lock makes concurrent adds
    queue here (SQLite's write transaction already does), so two adds never pick the same number."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7347002)"))
    top = conn.execute(sa.select(sa.func.max(research_items.c.number))).scalar()
    return int(top or 0) + 1


def insert_item(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(research_items.insert().values(**values))


def lock_item(conn: Connection, item_id: str) -> bool:
    """Serialise writers of one item (row lock on PostgreSQL; SQLite holds its write lock)."""
    stmt = sa.select(research_items.c.id).where(research_items.c.id == item_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first() is not None


def get_item(conn: Connection, item_id: str) -> ResearchItem | None:
    row = conn.execute(sa.select(research_items).where(research_items.c.id == item_id)).first()
    if row is None:
        return None
    return _item(row._mapping, list_links(conn, item_id))


def list_items(conn: Connection) -> list[ResearchItem]:
    links: dict[str, list[Link]] = {}
    for link in list_links(conn):
        links.setdefault(link.item_id, []).append(link)
    rows = conn.execute(sa.select(research_items).order_by(research_items.c.number))
    return [_item(row._mapping, links.get(row.id, [])) for row in rows]


def set_stage(conn: Connection, item_id: str, stage: ItemStage, now: datetime) -> None:
    conn.execute(
        research_items.update().where(research_items.c.id == item_id).values(stage=stage.value, updated_at=now)
    )


def add_update(
    conn: Connection,
    item_id: str,
    *,
    kind: str,
    text: str,
    author: str,
    at: datetime,
    from_stage: ItemStage | None = None,
    to_stage: ItemStage | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        research_updates.insert().values(
            item_id=item_id,
            kind=kind,
            text=text,
            author=author,
            at=at,
            from_stage=from_stage.value if from_stage else None,
            to_stage=to_stage.value if to_stage else None,
            data=data,
        )
    )
    conn.execute(research_items.update().where(research_items.c.id == item_id).values(updated_at=at))


def list_updates(conn: Connection, item_id: str | None = None, since: datetime | None = None) -> list[Update]:
    """Updates, oldest first; of one item and/or since a moment when given."""
    stmt = sa.select(research_updates).order_by(research_updates.c.at, research_updates.c.id)
    if item_id is not None:
        stmt = stmt.where(research_updates.c.item_id == item_id)
    if since is not None:
        stmt = stmt.where(research_updates.c.at >= since)
    return [_update(row._mapping) for row in conn.execute(stmt)]


def add_link(conn: Connection, item_id: str, use_case: str, version: int, now: datetime) -> bool:
    """Link a version to an item; False when it was linked already."""
    exists = conn.execute(
        sa.select(research_links.c.id).where(
            research_links.c.item_id == item_id,
            research_links.c.use_case == use_case,
            research_links.c.version == version,
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(research_links.insert().values(item_id=item_id, use_case=use_case, version=version, linked_at=now))
    return True


def list_links(conn: Connection, item_id: str | None = None) -> list[Link]:
    stmt = sa.select(research_links).order_by(research_links.c.use_case, research_links.c.version)
    if item_id is not None:
        stmt = stmt.where(research_links.c.item_id == item_id)
    return [
        Link(item_id=r.item_id, use_case=r.use_case, version=r.version, linked_at=r.linked_at)
        for r in conn.execute(stmt)
    ]


def items_linked_to(conn: Connection, use_case: str, version: int) -> list[str]:
    rows = conn.execute(
        sa.select(research_links.c.item_id).where(
            research_links.c.use_case == use_case, research_links.c.version == version
        )
    )
    return [r.item_id for r in rows]


def versions_naming(conn: Connection, item_id: str) -> list[tuple[str, int, str]]:
    """(use case, version, stage) of every registered version whose ``research_item`` is ``item_id``."""
    rows = conn.execute(
        sa.select(model_versions.c.use_case, model_versions.c.version, model_versions.c.stage)
        .where(model_versions.c.research_item == item_id)
        .order_by(model_versions.c.use_case, model_versions.c.version)
    )
    return [(r.use_case, r.version, r.stage) for r in rows]


def _item(row: Mapping[Any, Any], links: list[Link]) -> ResearchItem:
    target = None
    if row["target_metric"] is not None:
        target = Target(row["target_metric"], row["target_op"], float(row["target_value"]))
    return ResearchItem(
        id=row["id"],
        number=row["number"],
        title=row["title"],
        hypothesis=row["hypothesis"],
        use_case=row["use_case"],
        owner=row["owner"],
        team=row["team"],
        risk=Risk(row["risk"]),
        stage=ItemStage(row["stage"]),
        target=target,
        expected_drop=row["expected_drop"],
        quarter=row["quarter"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        links=tuple(links),
    )


def _update(row: Mapping[Any, Any]) -> Update:
    return Update(
        id=row["id"],
        item_id=row["item_id"],
        kind=row["kind"],
        text=row["text"],
        author=row["author"],
        at=row["at"],
        from_stage=ItemStage(row["from_stage"]) if row["from_stage"] else None,
        to_stage=ItemStage(row["to_stage"]) if row["to_stage"] else None,
        data=row["data"],
    )
