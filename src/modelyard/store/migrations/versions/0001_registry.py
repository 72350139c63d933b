"""The registry: use cases, model versions, the append-only stage trail.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelyard.store._types import UTCDateTime

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION modelyard_stage_changes_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stage_changes is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "use_cases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("spec_yaml", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_use_cases"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("artifact_size", sa.BigInteger, nullable=False),
        sa.Column("flavor_metadata", sa.JSON, nullable=False),
        sa.Column("signature", sa.JSON, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("training_data_hash", sa.String(64)),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("git_commit", sa.String(40)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("research_item", sa.String(64)),
        sa.Column("description", sa.Text),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_model_versions_use_case_use_cases"),
        sa.UniqueConstraint("use_case", "version", name="uq_model_versions_use_case_version"),
        sa.UniqueConstraint("use_case", "artifact_sha256", name="uq_model_versions_use_case_artifact_sha256"),
    )
    for stage in ("production", "canary"):
        op.create_index(
            f"uq_model_versions_one_{stage}",
            "model_versions",
            ["use_case"],
            unique=True,
            sqlite_where=sa.text(f"stage = '{stage}'"),
            postgresql_where=sa.text(f"stage = '{stage}'"),
        )
    op.create_table(
        "stage_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("evaluation_id", sa.String(80)),
        sa.Column("replaced_version", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_stage_changes"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_stage_changes_use_case_use_cases"),
    )
    op.create_index("ix_stage_changes_use_case_version", "stage_changes", ["use_case", "version"])

    # The audit trail can only grow: the database refuses UPDATE and DELETE on it.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_APPEND_ONLY_PG)
        op.execute(
            "CREATE TRIGGER stage_changes_append_only BEFORE UPDATE OR DELETE ON stage_changes "
            "FOR EACH ROW EXECUTE FUNCTION modelyard_stage_changes_append_only()"
        )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER stage_changes_no_{event.lower()} BEFORE {event} ON stage_changes "
                f"BEGIN SELECT RAISE(ABORT, 'stage_changes is append-only: {event} is not allowed'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stage_changes_append_only ON stage_changes")
        op.execute("DROP FUNCTION IF EXISTS modelyard_stage_changes_append_only()")
    op.drop_table("stage_changes")
    op.drop_table("model_versions")
    op.drop_table("use_cases")
