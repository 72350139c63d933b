"""Production data through production code: sources, the feature code, snapshots, batch scoring."""

from modelyard.data._features import FeatureCode, load_feature_code
from modelyard.data._score import ScoreSummary, score_batch
from modelyard.data._snapshot import (
    Snapshot,
    build_snapshot,
    get_snapshot,
    is_snapshot_ref,
    list_snapshots,
    read_snapshot,
    split_by_time,
)
from modelyard.data._sources import FileSource, Partition, Source, SqlSource, TimeRange, open_source
from modelyard.data._spark import score_with_spark, spark_session
from modelyard.data._spark_source import SparkSource

__all__ = [
    "FeatureCode",
    "FileSource",
    "Partition",
    "ScoreSummary",
    "Snapshot",
    "Source",
    "SparkSource",
    "SqlSource",
    "TimeRange",
    "build_snapshot",
    "get_snapshot",
    "is_snapshot_ref",
    "list_snapshots",
    "load_feature_code",
    "open_source",
    "read_snapshot",
    "score_batch",
    "score_with_spark",
    "spark_session",
    "split_by_time",
]
