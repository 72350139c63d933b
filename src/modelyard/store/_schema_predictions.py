"""What the model server writes to the registry database (issue 5): its prediction log in team mode,
and the canary traffic split of each use case, set through ``PUT /admin/traffic/{use_case}``."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from modelyard.store._schema import metadata
from modelyard.store._types import UTCDateTime

__all__ = ["PREDICTION_COLUMNS", "predictions", "traffic_splits"]

# One row per scored row, the columns of the Parquet log (``serve/_log.py::LOG_SCHEMA``). ``use_case``
# is not a foreign key and ``request_id`` is not unique: the log must take whatever was answered.
predictions = Table(
    "predictions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", Text, nullable=False),
    Column("row", Integer, nullable=False),
    Column("use_case", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("inputs", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("score", Float, nullable=False),
    Column("decision", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Index("ix_predictions_use_case_at", "use_case", "at"),  # monitoring reads a use case by time range
)

PREDICTION_COLUMNS = tuple(c.name for c in predictions.columns if c.name != "id")

# The canary fraction of a use case: append-only, the newest row per use case is the one in force.
# Each row says who set it, why, and which canary was deployed then (None: none yet).
traffic_splits = Table(
    "traffic_splits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("canary_fraction", Float, nullable=False),
    Column("canary_version", Integer),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_traffic_splits_use_case", "use_case"),
)
