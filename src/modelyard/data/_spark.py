"""Batch scoring on Spark: the same feature code and model, run by ``mapInPandas`` on the executors.

The model's artifact bytes are broadcast once; each Python worker loads the model once and keeps
it, then scores its Arrow batches vectorised. Output is a folder of Parquet part files with the
same columns as local scoring, so the evaluation reads either.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelyard._exceptions import DataError, MissingExtraError, UsageError
from modelyard.data._features import FeatureCode, check_unique_columns
from modelyard.data._score import (
    ScoreSummary,
    check_scores_output,
    data_ref,
    output_path,
    source_files,
    writable_output,
)
from modelyard.data._snapshot import Snapshot, get_snapshot, is_snapshot_ref
from modelyard.data._spark_source import SparkSource, file_name, spark_reason

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["score_with_spark", "spark_session"]

_MODELS: dict[str, Any] = {}  # per Python worker: artifact sha256 -> loaded model
_FILE = "__modelyard_input_file__"  # a raw row's file (its number in the read's files), for the feature code's errors

_MASTERS = "use local[2] (this machine, 2 cores), spark://HOST:7077, yarn or k8s://https://HOST:PORT"

# log4j for the JVMs modelyard starts: every logger off (sparkContext.setLogLevel turns them back on);
# the gateway's logger off too, or PySpark prints a "Setting default log level" notice at start.
_LOG4J = """\
status = error
rootLogger.level = off
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = off
"""


def spark_session(master: str = "local[2]") -> Any:
    """A Spark session for modelyard's jobs (local mode by default), without the web UI.

    A session this starts keeps Spark's own logging off (log4j at OFF from the JVM's start), so a
    failure shows modelyard's one message, not Spark's stacks; turn it back on for later work in the
    same process with ``spark.sparkContext.setLogLevel("WARN")``. A session already active is used as it is.
    """
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingExtraError("pyspark", "spark", "Scoring with --engine spark") from exc
    # spark-submit's own rule: anything else makes the JVM print its usage and exit
    if master != "yarn" and not master.startswith(("local", "spark", "k8s")):
        raise UsageError(f"--master {master!r} is not a Spark master URL: {_MASTERS}")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers must see modelyard's environment
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    starts = SparkSession.getActiveSession() is None
    builder = (
        SparkSession.builder.master(master)
        .appName("modelyard")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    # The log4j settings go to the JVM through SPARK_SUBMIT_OPTS, read by spark-submit as it starts the
    # driver, on top of the JVM options of spark-defaults.conf and the user's (setting
    # spark.driver.defaultJavaOptions instead would replace a cluster admin's). Set only while starting.
    submit_opts = os.environ.get("SPARK_SUBMIT_OPTS")
    if starts:
        quiet = f"-Dlog4j2.configurationFile={_quiet_log4j()}"
        os.environ["SPARK_SUBMIT_OPTS"] = f"{submit_opts} {quiet}" if submit_opts else quiet
    try:
        spark = builder.getOrCreate()
    except (PySparkException, Py4JError) as exc:  # JAVA_GATEWAY_EXITED; "Could not parse Master URL"
        java = ", and that Java 17 or later is installed (JAVA_HOME)" if isinstance(exc, PySparkException) else ""
        raise UsageError(
            f"Spark did not start with --master {master!r} ({spark_reason(exc)}); check the URL{java}: {_MASTERS}"
        ) from exc
    finally:
        if submit_opts is None:
            os.environ.pop("SPARK_SUBMIT_OPTS", None)
        else:
            os.environ["SPARK_SUBMIT_OPTS"] = submit_opts
    if starts:
        spark.sparkContext.setLogLevel("OFF")  # also when the JVM was already running
    return spark


@functools.cache
def _quiet_log4j() -> str:
    """A file URI of :data:`_LOG4J`, written once per process and removed at exit."""
    fd, name = tempfile.mkstemp(prefix="modelyard-log4j2-", suffix=".properties")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(_LOG4J)
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name).as_uri()


def _model(payload: tuple[str, str, str, bytes, dict[str, Any]]) -> Any:
    sha, flavor, fmt, data, metadata = payload
    if sha not in _MODELS:
        from modelyard.flavors import SavedModel, load_model

        _MODELS[sha] = load_model(SavedModel(flavor, fmt, data, metadata), trust=True)  # verified by the driver
    return _MODELS[sha]


def _features(
    code: FeatureCode, batch: pd.DataFrame, files: np.ndarray, names: list[str], key: str | None
) -> pd.DataFrame:
    """The feature code on one Arrow batch; when it raises, the error names the file the failing row
    came from (a batch may span files) and the row's entity key, as the row counts within the batch.
    ``files``: each row's file as its number in ``names`` (-1 when Spark did not say)."""

    def where(file: int) -> str:
        return f"a Spark batch of rows from {names[file]}" if 0 <= file < len(names) else "a Spark batch of rows"

    numbers = pd.unique(files)
    if len(numbers) == 1:
        out = code.apply(batch, partition=where(numbers[0]), key=key)
    else:
        try:
            out = code.apply(batch, partition="a Spark batch of rows from several files", key=key)
        except DataError:
            for number in numbers:  # the error again, from the rows of the file that holds the failing one
                code.apply(batch[files == number].reset_index(drop=True), partition=where(number), key=key)
            raise
    check_unique_columns(out, code)
    return out


def score_with_spark(
    yard: Yard,
    use_case: str,
    version: int | str,
    data: str | Path | Snapshot,
    out: str | Path,
    *,
    master: str = "local[2]",
) -> ScoreSummary:
    """Score ``data`` (a snapshot or its id, a Parquet/CSV glob of raw rows, or ``"source"`` for the
    spec's ``data.source`` when Spark reads it: files or a Spark table) on Spark into the folder ``out``,
    which must not exist yet (and is refused where local scoring refuses its file)."""
    data = data_ref(data)
    out = output_path(out)
    spec = yard.use_case(use_case)
    mv = yard.model(use_case, version)
    yard.load(use_case, mv.version)  # checksum and trust are verified here, once, on the driver
    payload = (mv.artifact_sha256, mv.flavor, mv.format, yard.artifacts.get(mv.artifact_sha256), mv.flavor_metadata)
    source, raw, read = _spark_input(yard, spec.data.source, data)
    if out.exists():
        raise UsageError(f"{out} already exists; Spark writes a folder of part files, so name a new one")
    check_scores_output(yard, spec, out, read)
    writable_output(out, folder=True)

    spark = spark_session(master)
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    named = f"data.source {spec.data.source!r}" if data == "source" else f"--data {str(data)!r}"
    frame = SparkSource(source, yard.settings.root, named=named).read(spark)  # checked for drift as a source is

    keep = [c for c in (spec.data.entity_key, spec.data.time, spec.data.label) if c and c in frame.columns]
    inputs = list(spec.input_names)
    features_path = spec.data.features if raw else None
    key, names = spec.data.entity_key, []
    threshold, number = float(mv.threshold), int(mv.version)
    shipped = spark.sparkContext.broadcast(payload)
    if features_path:  # the file of each row, for the feature code's errors (taken off before it runs)
        from pyspark.sql import functions as F

        # A number per row, not the file's URI: a string on every row would add to what Arrow ships.
        uris = frame.inputFiles()
        names = [file_name(uri, yard.settings.root) for uri in uris]
        numbers = F.create_map(*[v for i, uri in enumerate(uris) for v in (F.lit(uri), F.lit(i))])
        frame = frame.withColumn(_FILE, F.coalesce(numbers[F.input_file_name()], F.lit(-1)))

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from threadpoolctl import threadpool_limits

        from modelyard.data._features import load_feature_code

        model = _model(shipped.value)
        code = load_feature_code(features_path) if features_path else None
        with threadpool_limits(1):
            for batch in batches:
                if code is None:
                    model_inputs = batch
                else:
                    files = batch.pop(_FILE).to_numpy()
                    model_inputs = _features(code, batch.reset_index(drop=True), files, names, key)
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


def _spark_input(yard: Yard, spec_source: str, data: str | Path) -> tuple[str, bool, list[Path]]:
    """What Spark reads for ``data``, as a ``spark:`` source string; whether those are raw rows (for
    the feature code) or a snapshot's model inputs; and the local files read (which --out may not be)."""
    if not isinstance(data, Path) and data != "source" and is_snapshot_ref(data):
        path = get_snapshot(yard, data).path
        return f"spark:parquet:{path}", False, [Path(path)]
    given = spec_source if data == "source" else str(data)
    shown = f"source (data.source {given!r})" if data == "source" else repr(given)
    lowered = given.lower()
    if lowered.startswith("spark:"):
        return given, True, source_files(given, yard.settings.root)
    scheme = lowered.partition("://")[0] if "://" in lowered else lowered.partition(":")[0]
    if scheme.split("+")[0] in ("postgresql", "postgres", "sqlite", "mysql", "mssql", "oracle"):
        raise UsageError(
            f"--engine spark cannot read --data {shown}: it is a database table, which Spark reads only as a "
            "Spark table; score it with --engine local, or name a Spark table or path in data.source "
            "(spark:TABLE, spark:parquet:PATH)"
        )
    url = "://" in given  # s3a://, hdfs://: passed to Spark as they are
    path = given if url or Path(given).is_absolute() else str(yard.settings.root / given)
    if not path.lower().endswith((".parquet", ".csv")):
        raise UsageError(f"--engine spark reads a snapshot id, 'source' or a .parquet/.csv glob; got {shown}")
    kind = "csv" if path.lower().endswith(".csv") else "parquet"
    return f"spark:{kind}:{path}", True, [] if url else source_files(path, yard.settings.root)
