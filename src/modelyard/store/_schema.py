"""The registry's tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Change a table here and add a migration in the same commit; ``tests/store/test_store.py``
checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from modelyard.store._types import UTCDateTime

__all__ = [
    "check_results",
    "evaluations",
    "metadata",
    "model_versions",
    "research_items",
    "research_links",
    "research_updates",
    "stage_changes",
    "use_cases",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

use_cases = Table(
    "use_cases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec_sha256", String(64), nullable=False),
    Column("spec_yaml", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("flavor", String(32), nullable=False),
    Column("format", String(32), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("artifact_sha256", String(64), nullable=False),
    Column("artifact_size", BigInteger, nullable=False),
    Column("flavor_metadata", JSON, nullable=False),
    Column("signature", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("spec_sha256", String(64), nullable=False),
    Column("training_data_hash", String(64)),
    Column("training_rows_sha256", String(64)),
    Column("snapshot_id", String(80)),
    Column("git_commit", String(40)),
    Column("git_dirty", Boolean),
    Column("author", String(128), nullable=False),
    Column("research_item", String(64)),
    Column("description", Text),
    Column("threshold", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("use_case", "version"),
    UniqueConstraint("use_case", "artifact_sha256"),
    # The database itself guarantees at most one production and one canary per use case,
    # whatever any process does concurrently.
    Index(
        "uq_model_versions_one_production",
        "use_case",
        unique=True,
        sqlite_where=text("stage = 'production'"),
        postgresql_where=text("stage = 'production'"),
    ),
    Index(
        "uq_model_versions_one_canary",
        "use_case",
        unique=True,
        sqlite_where=text("stage = 'canary'"),
        postgresql_where=text("stage = 'canary'"),
    ),
)

stage_changes = Table(
    "stage_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_stage", String(16)),
    Column("to_stage", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("evaluation_id", String(80)),
    Column("replaced_version", Integer),
    Index("ix_stage_changes_use_case_version", "use_case", "version"),
)

# One handoff check of one version (issue 4). ``result`` is the check's JSON; its key
# ``measurements`` ({"latency_p99_ms", "memory_mb", "artifact_mb", ...}) feeds the evaluation's
# budget gates.
check_results = Table(
    "check_results",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("data_ref", Text),
    Column("result", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_check_results_use_case_version", "use_case", "version"),
)

# One business evaluation of a challenger, against a champion when there is one (issue 3).
evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("challenger_version", Integer, nullable=False),
    Column("champion_version", Integer),
    Column("verdict", String(16), nullable=False),
    Column("data_ref", Text),
    Column("cost_model_sha256", String(64)),
    Column("schema_version", String(16), nullable=False),
    Column("result", JSON, nullable=False),
    Column("report_path", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_evaluations_use_case_challenger_version", "use_case", "challenger_version"),
)

# -- the research board (issue 7) --------------------------------------------------------------

# One research item ("RI-<number>"). ``use_case`` is not a foreign key: research starts before a
# use case has any registered model.
research_items = Table(
    "research_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("hypothesis", Text, nullable=False),
    Column("use_case", String(64)),
    Column("owner", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("risk", String(8), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("target_metric", String(32)),
    Column("target_op", String(2)),
    Column("target_value", Float),
    Column("expected_drop", Date),
    Column("quarter", String(8)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("number"),
)

# The dated updates of an item: notes, stage moves (manual or automatic, with their cause),
# links and feasibility studies (``data`` holds the study's JSON).
research_updates = Table(
    "research_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(32), ForeignKey("research_items.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_stage", String(16)),
    Column("to_stage", String(16)),
    Column("text", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Column("data", JSON),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_research_updates_item_id", "item_id"),
)

# Model versions linked to an item (by ``register --research-item`` or by hand).
research_links = Table(
    "research_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(32), ForeignKey("research_items.id"), nullable=False),
    Column("use_case", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "use_case", "version"),
)
