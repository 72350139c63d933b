"""model_versions.training_rows_sha256: the artifact holding the fingerprints of a version's training rows.

Revision ID: 0006_training_rows
Revises: 0005_predictions
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_training_rows"
down_revision = "0005_predictions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) on both SQLite and PostgreSQL: no table rebuild, so
    # the partial unique indexes of the table stay as they are.
    op.add_column("model_versions", sa.Column("training_rows_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("model_versions", "training_rows_sha256")
