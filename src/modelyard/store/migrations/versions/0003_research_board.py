"""The research board: research items, their dated updates, and their links to model versions.

Revision ID: 0003_research_board
Revises: 0002_checks_and_evaluations
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelyard.store._types import UTCDateTime

revision = "0003_research_board"
down_revision = "0002_checks_and_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "research_items",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("hypothesis", sa.Text, nullable=False),
        sa.Column("use_case", sa.String(64)),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("target_metric", sa.String(32)),
        sa.Column("target_op", sa.String(2)),
        sa.Column("target_value", sa.Float),
        sa.Column("expected_drop", sa.Date),
        sa.Column("quarter", sa.String(8)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_research_items"),
        sa.UniqueConstraint("number", name="uq_research_items_number"),
    )
    op.create_table(
        "research_updates",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_research_updates"),
        sa.ForeignKeyConstraint(["item_id"], ["research_items.id"], name="fk_research_updates_item_id_research_items"),
    )
    op.create_index("ix_research_updates_item_id", "research_updates", ["item_id"])
    op.create_table(
        "research_links",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("linked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_research_links"),
        sa.ForeignKeyConstraint(["item_id"], ["research_items.id"], name="fk_research_links_item_id_research_items"),
        sa.UniqueConstraint("item_id", "use_case", "version", name="uq_research_links_item_id_use_case_version"),
    )


def downgrade() -> None:
    op.drop_table("research_links")
    op.drop_index("ix_research_updates_item_id", table_name="research_updates")
    op.drop_table("research_updates")
    op.drop_table("research_items")
