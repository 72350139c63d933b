"""The registry's SQL store: schema, migrations and the functions that read and write it."""

from modelyard.store import _schema_snapshots  # noqa: F401  (registers the table in the metadata)
from modelyard.store._engine import describe_url
from modelyard.store._records import (
    CheckRecord,
    EvaluationRecord,
    ModelVersion,
    Stage,
    StageChange,
    UseCaseRecord,
)
from modelyard.store._store import Store
from modelyard.store._types import utcnow

__all__ = [
    "CheckRecord",
    "EvaluationRecord",
    "ModelVersion",
    "Stage",
    "StageChange",
    "Store",
    "UseCaseRecord",
    "describe_url",
    "utcnow",
]
