"""The snapshots table: immutable, content-hashed extractions of production data (issue 6)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, String, Table, Text

from modelyard.store._schema import metadata
from modelyard.store._types import UTCDateTime

__all__ = ["snapshots"]

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("use_case", String(64), ForeignKey("use_cases.name"), nullable=False),
    Column("source", Text, nullable=False),
    Column("time_column", String(128)),
    Column("range_start", UTCDateTime),
    Column("range_end", UTCDateTime),
    Column("row_count", BigInteger, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("feature_code", Text, nullable=False),
    Column("feature_code_sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_snapshots_use_case", "use_case"),
)
