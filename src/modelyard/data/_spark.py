"""Batch scoring on Spark: the same feature code and model, run by ``mapInPandas`` on the executors.

The model's artifact bytes are broadcast once; each Python worker loads the model once and keeps
it, then scores its Arrow batches vectorised. Output is a folder of Parquet part files with the
same columns as local scoring, so the evaluation reads either.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelyard._exceptions import DataError, MissingExtraError, UsageError
from modelyard.data._score import ScoreSummary, writable_output
from modelyard.data._snapshot import get_snapshot, is_snapshot_ref
from modelyard.data._spark_source import SparkSource, spark_reason

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["score_with_spark", "spark_session"]

_MODELS: dict[str, Any] = {}  # per Python worker: artifact sha256 -> loaded model


def spark_session(master: str = "local[2]") -> Any:
    """A Spark session for modelyard's jobs (local mode by default), quiet and without the web UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingExtraError("pyspark", "spark", "Scoring with --engine spark") from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers must see modelyard's environment
    spark = (
        SparkSession.builder.master(master)
        .appName("modelyard")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _model(payload: tuple[str, str, str, bytes, dict[str, Any]]) -> Any:
    sha, flavor, fmt, data, metadata = payload
    if sha not in _MODELS:
        from modelyard.flavors import SavedModel, load_model

        _MODELS[sha] = load_model(SavedModel(flavor, fmt, data, metadata), trust=True)  # verified by the driver
    return _MODELS[sha]


def score_with_spark(
    yard: Yard, use_case: str, version: int | str, data: str, out: str | Path, *, master: str = "local[2]"
) -> ScoreSummary:
    """Score ``data`` (a snapshot id or a Parquet/CSV glob of raw rows) on Spark into the folder ``out``."""
    spec = yard.use_case(use_case)
    mv = yard.model(use_case, version)
    yard.load(use_case, mv.version)  # checksum and trust are verified here, once, on the driver
    payload = (mv.artifact_sha256, mv.flavor, mv.format, yard.artifacts.get(mv.artifact_sha256), mv.flavor_metadata)
    if is_snapshot_ref(data):
        path, raw = get_snapshot(yard, data).path, False
    else:
        path = data if Path(data).is_absolute() else str(yard.settings.root / data)
        raw = True
    if not path.lower().endswith((".parquet", ".csv")):
        raise UsageError(f"--engine spark reads a snapshot id or a .parquet/.csv glob; got {data!r}")
    out = Path(out)
    if out.exists():
        raise UsageError(f"{out} already exists; Spark writes a folder of part files, so name a new one")
    writable_output(out, folder=True)

    spark = spark_session(master)
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    kind = "csv" if path.lower().endswith(".csv") else "parquet"  # read, and checked for drift, as a source is
    frame = SparkSource(f"spark:{kind}:{path}", yard.settings.root, named=f"--data {data!r}").read(spark)

    keep = [c for c in (spec.data.entity_key, spec.data.time, spec.data.label) if c and c in frame.columns]
    inputs = list(spec.input_names)
    features_path = spec.data.features if raw else None
    threshold, number = float(mv.threshold), int(mv.version)
    shipped = spark.sparkContext.broadcast(payload)

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from threadpoolctl import threadpool_limits

        from modelyard.data._features import load_feature_code

        model = _model(shipped.value)
        code = load_feature_code(features_path) if features_path else None
        with threadpool_limits(1):
            for batch in batches:
                model_inputs = code.apply(batch.reset_index(drop=True)) if code else batch
                scores = model.score(model_inputs[inputs])
                result = pd.DataFrame({c: batch[c].to_numpy() for c in keep})
                result["score"] = scores
                result["decision"] = scores >= threshold
                result["version"] = number
                yield result

    fields = [frame.schema[c].simpleString() for c in keep]
    schema = ", ".join([*fields, "score double", "decision boolean", "version int"])
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.mapInPandas(score_batches, schema).write.parquet(str(tmp))
        os.replace(tmp, out)
    except (PySparkException, Py4JJavaError) as exc:  # a file Spark cannot read, feature code that raised
        raise DataError(f"Spark failed scoring {data!r}: {spark_reason(exc)}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    written = pd.read_parquet(out, columns=["decision"])
    return ScoreSummary(use_case, number, len(written), str(out), int(written["decision"].sum()))
