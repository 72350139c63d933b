"""Fingerprints of the rows a version was fitted on, so an evaluation can tell when it is scoring them.

``training_data_hash`` tells only whether evaluation data *is* the training frame. A sample of the
training rows (a random split, a few thousand rows taken back for a quick look) hashes differently
and would be priced in-sample. At registration, each training row's model inputs get a 64-bit
fingerprint; the fingerprints of rows that occur once in training are stored as a small blob in
the artifact store (8 bytes a row).

Fresh rows can look like training rows by chance: with a few discrete inputs, many customers
send the same values. By Good and Turing's estimate, the share of fresh rows from the training
population that land on a row seen once in training is about ``2 * (rows seen twice) / rows``;
:attr:`TrainingRows.chance` keeps it, and the evaluation refuses only well above it.

Values are normalised before hashing, so the same row hashes alike whether it came from a CSV,
Parquet or a feature function: numbers, booleans and text holding only numbers as float32-rounded
floats, date-times as UTC nanoseconds, other text as text, and every kind of missing value alike.
A training frame of more than :data:`MAX_STORED` such rows keeps a hash-range sample, and an
evaluation row is compared only when its fingerprint is in that range.
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
_ALL = int(np.iinfo(np.uint64).max)
_NUMERIC_TEXT = {"integer", "floating", "mixed-integer-float", "decimal", "boolean"}


def row_fingerprints(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """A uint64 per row of ``frame[columns]``, equal for equal values whatever their dtype (see the
    module docstring for the normalisation)."""
    normalised = {name: _normalised(frame[name]) for name in columns}
    if not normalised:
        return np.zeros(len(frame), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(normalised, index=frame.index), index=False).to_numpy(np.uint64)


def _normalised(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        return column.astype("datetime64[ns]").astype("int64")  # NaT is one value, as any missing
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return _as_float(pd.to_numeric(column, errors="coerce"))
    values = column.astype("object")
    values = values.where(values.notna(), None)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _NUMERIC_TEXT:  # numbers or booleans held as objects or categories: as numbers
        return _as_float(pd.to_numeric(values.map(lambda v: float(v) if v is not None else None), errors="coerce"))
    if kind not in ("string", "empty"):  # mixed: each value as text
        values = values.map(lambda v: None if v is None else str(v))
    return values


def _as_float(values: pd.Series) -> pd.Series:
    """float64 values rounded through float32, so a float32 feature hashes as its float64 twin."""
    return values.astype("float64").astype("float32").astype("float64")


@dataclass(frozen=True)
class TrainingRows:
    """The fingerprints of a version's training rows that occur once there (sorted), with the columns
    they were taken over, the training frame's row count, the chance share of fresh rows that match
    them, and the range of fingerprints kept."""

    columns: tuple[str, ...]
    rows: int
    unique: np.ndarray
    chance: float
    below: int = _ALL
    probe: int = 0

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: Sequence[str]) -> TrainingRows:
        """The fingerprints of ``frame``'s rows over ``columns`` (the spec's inputs it has)."""
        values, counts = np.unique(row_fingerprints(frame, columns), return_counts=True)
        unique = values[counts == 1]  # sorted, as np.unique returns them
        chance = 2 * int((counts == 2).sum()) / max(len(frame), 1)
        below = _ALL
        if len(unique) > MAX_STORED:
            below = int(unique[MAX_STORED])
            unique = unique[:MAX_STORED]
        return cls(tuple(columns), len(frame), unique, min(chance, 1.0), below, _probe())

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {
                "columns": list(self.columns),
                "rows": self.rows,
                "chance": self.chance,
                "below": self.below,
                "probe": self.probe,
            }
        ).encode()
        return _MAGIC + len(header).to_bytes(4, "little") + header + self.unique.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingRows:
        """Read a blob written by :meth:`to_bytes`; ``ValueError`` if it is not one."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a training-rows blob")
        at = len(_MAGIC)
        size = int.from_bytes(data[at : at + 4], "little")
        header = json.loads(data[at + 4 : at + 4 + size])
        unique = np.frombuffer(data[at + 4 + size :], dtype="<u8").astype(np.uint64)
        return cls(
            tuple(header["columns"]),
            int(header["rows"]),
            unique,
            float(header["chance"]),
            int(header["below"]),
            int(header["probe"]),
        )

    @property
    def comparable(self) -> bool:
        """Whether this pandas hashes as the one that wrote the fingerprints."""
        return self.probe == _probe()

    def matches(self, frame: pd.DataFrame) -> tuple[int, int]:
        """How many of ``frame``'s rows are training rows, and how many could be compared (those that
        have every column and fall in the fingerprint range kept)."""
        if not self.comparable or any(name not in frame.columns for name in self.columns):
            return 0, 0
        prints = row_fingerprints(frame, self.columns)
        if self.below != _ALL:
            prints = prints[prints < np.uint64(self.below)]
        if len(self.unique) == 0:
            return 0, len(prints)
        at = np.searchsorted(self.unique, prints)  # the stored fingerprints are sorted
        found = self.unique[np.minimum(at, len(self.unique) - 1)] == prints
        return int(found.sum()), len(prints)


def _probe() -> int:
    """The fingerprint of a fixed row: a pandas that hashes differently gives another."""
    frame = pd.DataFrame({"number": [1.5], "text": ["modelyard"], "missing": [None]})
    return int(row_fingerprints(frame, ["number", "text", "missing"])[0])
