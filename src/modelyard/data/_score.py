"""Batch scoring: a version over a snapshot or a source, chunk by chunk, into Parquet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelyard._exceptions import DataError, UsageError
from modelyard.data._features import load_feature_code
from modelyard.data._snapshot import get_snapshot, is_snapshot_ref
from modelyard.data._sources import open_source

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["ScoreSummary", "score_batch"]

DEFAULT_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class ScoreSummary:
    """What a batch scoring run wrote."""

    use_case: str
    version: int
    rows: int
    out: str
    positives: int


def _chunks_from_snapshot(path: str, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, bool]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas(), False


def score_batch(
    yard: Yard,
    use_case: str,
    version: int | str,
    data: str,
    out: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score ``data`` (a snapshot id, or a source string like ``data/churn/*.parquet``) with a version.

    Snapshots already hold model inputs; raw sources go through the spec's feature code first.
    The output has the entity key, time and label (when present), ``score``, ``decision`` (at the
    version's threshold) and ``version``. It is written to a temporary file and renamed at the end,
    so a failed run leaves no partial output.
    """
    if chunk_rows < 1:
        raise UsageError(f"The 'chunk_rows' parameter must be at least 1. Got {chunk_rows} instead.")
    spec = yard.use_case(use_case)
    mv = yard.model(use_case, version)
    model = yard.load(use_case, mv.version)
    code = load_feature_code(spec.data.features)
    chunks = _open(yard, spec.data.source if data == "source" else data, chunk_rows, spec.data.time)
    keep = [c for c in (spec.data.entity_key, spec.data.time, spec.data.label) if c]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    writer: pq.ParquetWriter | None = None
    rows = positives = 0
    try:
        for frame, raw in chunks:
            if not len(frame):
                continue
            inputs = code.apply(frame.reset_index(drop=True), key=spec.data.entity_key) if raw else frame
            missing = [c for c in spec.input_names if c not in inputs.columns]
            if missing:
                raise DataError(f"The data has no input column(s) {missing}; is it a snapshot of {use_case}?")
            scores = model.score(inputs[list(spec.input_names)])
            decision = scores >= mv.threshold
            result = pd.DataFrame({c: frame[c].to_numpy() for c in keep if c in frame.columns})
            result["score"] = scores
            result["decision"] = decision
            result["version"] = np.full(len(result), mv.version, dtype=np.int32)
            table = pa.Table.from_pandas(result, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(result)
            positives += int(decision.sum())
            if progress is not None:
                progress(len(result))
        if writer is None:
            raise DataError(f"{data!r} holds no rows to score")
        writer.close()
        writer = None
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return ScoreSummary(use_case, mv.version, rows, str(out), positives)


def _open(yard: Yard, data: str, chunk_rows: int, time_column: str | None) -> Iterator[tuple[pd.DataFrame, bool]]:
    if is_snapshot_ref(data):
        return _chunks_from_snapshot(get_snapshot(yard, data).path, chunk_rows)
    source = open_source(data, yard.settings.root)
    from modelyard.data._sources import TimeRange

    return ((part.frame, True) for part in source.partitions(time_column, TimeRange()))
