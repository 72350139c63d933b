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
Parquet or a feature function: numbers and booleans (also when held as objects or categories, and
text in a column the spec types as a number) as float32-rounded floats; date-times (also text or
dates in a column the spec types as datetime) as UTC nanoseconds; other text as text; every kind of
missing value alike. A training frame of more than :data:`MAX_STORED` such rows keeps a hash-range
sample, and an evaluation row is compared only when its fingerprint is in that range.

When the training frame has the spec's time column, the latest time in it is kept too: a row from
after it cannot be a training row, however its inputs look, so such rows are not compared (a later
month of panel data, where a customer's inputs did not change, is not a leak).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MAX_STORED", "TrainingRows", "row_fingerprints", "utc_times"]

MAX_STORED = 1_000_000
"""At most this many fingerprints are stored (8 MB)."""

_MAGIC = b"modelyard-training-rows-1\n"
_ALL = int(np.iinfo(np.uint64).max)
_NUMERIC_TEXT = {"integer", "floating", "mixed-integer-float", "decimal", "boolean"}


def row_fingerprints(frame: pd.DataFrame, columns: Sequence[str], types: Mapping[str, str] | None = None) -> np.ndarray:
    """A uint64 per row of ``frame[columns]``, equal for equal values whatever their dtype (see the
    module docstring for the normalisation); ``types`` maps a column to its spec type."""
    types = types or {}
    normalised = {name: _normalised(_typed(frame[name], types.get(name))) for name in columns}
    if not normalised:
        return np.zeros(len(frame), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(normalised, index=frame.index), index=False).to_numpy(np.uint64)


def _typed(column: pd.Series, kind: str | None) -> pd.Series:
    """Text where the spec says datetime or a number (a CSV's dates, numbers read as text) parsed."""
    if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(column):
        return utc_times(column)
    if kind in ("int", "float") and not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        return pd.to_numeric(column.astype("object").where(column.notna(), None), errors="coerce")
    return column


def utc_times(column: pd.Series) -> pd.Series:
    """``column`` as UTC date-times (naive ones taken as UTC; unparseable values as NaT)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is None:
            return column.astype("datetime64[ns]").dt.tz_localize("UTC")
        return column.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    values = column.astype("object").where(column.notna(), None)
    return pd.to_datetime(values, errors="coerce", utc=True, format="mixed").astype("datetime64[ns, UTC]")


def _normalised(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):  # NaT is one value, as any missing
        return utc_times(column).dt.tz_localize(None).astype("int64")
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return _as_float(pd.to_numeric(column, errors="coerce"))
    values = column.astype("object")
    values = values.where(values.notna(), None)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _NUMERIC_TEXT:  # numbers or booleans held as objects or categories: as numbers
        return _as_float(pd.to_numeric(values.map(lambda v: float(v) if v is not None else None), errors="coerce"))
    if kind == "empty":  # nothing but missing values: as an all-missing number column
        return pd.Series(np.nan, index=values.index)
    if kind != "string":  # mixed: each value as text
        values = values.map(lambda v: None if v is None else str(v))
    return values


def _as_float(values: pd.Series) -> pd.Series:
    """float64 values rounded through float32, so a float32 feature hashes as its float64 twin."""
    return values.astype("float64").astype("float32").astype("float64")


@dataclass(frozen=True)
class TrainingRows:
    """The fingerprints of a version's training rows that occur once there (sorted), with the columns
    they were taken over and their spec types, the training frame's row count, the chance share of
    fresh rows that match them, the range of fingerprints kept, and the latest training time (UTC
    nanoseconds, or None)."""

    columns: tuple[str, ...]
    rows: int
    unique: np.ndarray
    chance: float
    below: int = _ALL
    probe: int = 0
    types: Mapping[str, str] = field(default_factory=dict)
    latest_ns: int | None = None

    @classmethod
    def of(
        cls,
        frame: pd.DataFrame,
        columns: Sequence[str],
        types: Mapping[str, str] | None = None,
        time_column: str | None = None,
    ) -> TrainingRows:
        """The fingerprints of ``frame``'s rows over ``columns`` (the spec's inputs it has, of spec
        ``types``), and the latest value of ``time_column`` when ``frame`` has it."""
        types = dict(types or {})
        values, counts = np.unique(row_fingerprints(frame, columns, types), return_counts=True)
        unique = values[counts == 1]  # sorted, as np.unique returns them
        chance = 2 * int((counts == 2).sum()) / max(len(frame), 1)
        below = _ALL
        if len(unique) > MAX_STORED:
            below = int(unique[MAX_STORED])
            unique = unique[:MAX_STORED]
        latest = None
        if time_column and time_column in frame.columns:
            times = utc_times(frame[time_column])
            latest = int(times.max().value) if times.notna().any() else None
        return cls(tuple(columns), len(frame), unique, min(chance, 1.0), below, _probe(), types, latest)

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {
                "columns": list(self.columns),
                "rows": self.rows,
                "chance": self.chance,
                "below": self.below,
                "probe": self.probe,
                "types": dict(self.types),
                "latest_ns": self.latest_ns,
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
            dict(header.get("types") or {}),
            header.get("latest_ns"),
        )

    @property
    def comparable(self) -> bool:
        """Whether this pandas hashes as the one that wrote the fingerprints."""
        return self.probe == _probe()

    def matches(self, frame: pd.DataFrame, skip: np.ndarray | None = None) -> tuple[int, int]:
        """How many of ``frame``'s rows are training rows, and how many could be compared: those in
        the fingerprint range kept and not marked in ``skip`` (rows known to come after training)."""
        if not self.comparable or any(name not in frame.columns for name in self.columns):
            return 0, 0
        prints = row_fingerprints(frame, self.columns, self.types)
        if skip is not None:
            prints = prints[~skip]
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
