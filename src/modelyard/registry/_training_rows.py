"""Fingerprints of the rows a version was fitted on, so an evaluation can tell when it is scoring them.

``training_data_hash`` tells only whether evaluation data *is* the training frame. A sample of the
training rows (a random split, a few thousand rows taken back for a quick look) hashes differently
and would be priced in-sample. At registration, each training row's model inputs get a 64-bit
fingerprint; the fingerprints of rows that occur once in training are stored as a small blob in
the artifact store (8 bytes a row). Rows that occur several times (the default values of new
customers, a model on three yes/no inputs) are left out: a fresh row may well look the same.

Values are normalised before hashing (numbers as float64, everything else as text, missing values
alike), so the same row hashes alike whether it came from a CSV, Parquet or a feature function. A
training frame of more than :data:`MAX_STORED` distinct rows keeps the fingerprints under a bound
(a hash-range sample), and an evaluation row is compared only when its fingerprint is in that range.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_STORED", "TrainingRows", "row_fingerprints"]

MAX_STORED = 1_000_000
"""At most this many fingerprints are stored (8 MB)."""

_MAGIC = b"modelyard-training-rows-1\n"
_ALL = np.iinfo(np.uint64).max


def row_fingerprints(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """A uint64 per row of ``frame[columns]``, normalised so that equal values hash alike whatever
    their dtype: numbers (and booleans) as float64, everything else as text, missing values as one."""
    normalised = {}
    for name in columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            normalised[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            text = column.astype("object")
            text = text.where(text.notna(), None)
            if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):  # mixed: as text
                text = text.map(lambda v: None if v is None else str(v))
            normalised[name] = text
    if not normalised:
        return np.zeros(len(frame), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(normalised, index=frame.index), index=False).to_numpy(np.uint64)


@dataclass(frozen=True)
class TrainingRows:
    """The fingerprints of a version's training rows that occur once there (sorted), with the columns
    they were taken over, the training frame's row count, and the range of fingerprints kept."""

    columns: tuple[str, ...]
    rows: int
    unique: np.ndarray
    below: int = int(_ALL)

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: Sequence[str]) -> TrainingRows:
        """The fingerprints of ``frame``'s rows over ``columns`` (the spec's inputs it has)."""
        prints = row_fingerprints(frame, columns)
        values, counts = np.unique(prints, return_counts=True)
        unique = values[counts == 1]
        below = int(_ALL)
        if len(unique) > MAX_STORED:
            below = int(np.partition(unique, MAX_STORED)[MAX_STORED])
            unique = unique[unique < np.uint64(below)]
        return cls(tuple(columns), len(frame), unique, below)

    def to_bytes(self) -> bytes:
        header = json.dumps({"columns": list(self.columns), "rows": self.rows, "below": self.below}).encode()
        return _MAGIC + len(header).to_bytes(4, "little") + header + self.unique.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingRows:
        if not data.startswith(_MAGIC):
            raise ValueError("not a training-rows blob")
        at = len(_MAGIC)
        size = int.from_bytes(data[at : at + 4], "little")
        header = json.loads(data[at + 4 : at + 4 + size])
        unique = np.frombuffer(data[at + 4 + size :], dtype="<u8").astype(np.uint64)
        return cls(tuple(header["columns"]), int(header["rows"]), unique, int(header["below"]))

    def matches(self, frame: pd.DataFrame) -> tuple[int, int]:
        """How many of ``frame``'s rows are training rows, and how many could be compared (those that
        have every column and fall in the fingerprint range kept)."""
        if any(name not in frame.columns for name in self.columns):
            return 0, 0
        prints = row_fingerprints(frame, self.columns)
        prints = prints[prints < np.uint64(self.below)] if self.below != int(_ALL) else prints
        found = np.isin(prints, self.unique, assume_unique=False)
        return int(found.sum()), len(prints)
