"""Requests against the use case's spec: field names, then the feature code, then types and ranges.

Every check is vectorised over a whole batch (pandas, no Python loop over rows); the first problem
found becomes a :class:`~modelyard.DataError` naming the field, the row, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelyard._exceptions import DataError
from modelyard.data import FeatureCode, load_feature_code
from modelyard.serve._frame import request_frame
from modelyard.spec import Feature, UseCase

__all__ = ["RequestContract", "Rows", "concat_rows", "shown_as_json"]


@dataclass
class Rows:
    """One request's rows, column by column: ``{field: [value per row]}``."""

    columns: dict[str, list[Any]]
    n: int

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> Rows:
        if len(records) == 1:
            return cls({k: [v] for k, v in records[0].items()}, 1)
        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record))
        return cls({k: [r.get(k) for r in records] for k in names}, len(records))

    def records(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        return [{k: self.columns[k][i] for k in names} for i in range(self.n)]


def concat_rows(parts: list[Rows]) -> pd.DataFrame:
    """One DataFrame of every part's rows (a field a part lacks is null there)."""
    if len(parts) == 1:
        return request_frame(parts[0].columns, parts[0].n)
    names: dict[str, None] = {}
    for part in parts:
        names.update(dict.fromkeys(part.columns))
    data: dict[str, list[Any]] = {}
    for name in names:
        values: list[Any] = []
        for part in parts:
            col = part.columns.get(name)
            values.extend(col if col is not None else [None] * part.n)
        data[name] = values
    return request_frame(data, sum(part.n for part in parts))


def shown_as_json(value: Any, limit: int = 60) -> str:
    """``value`` spelled as a client writes it in JSON, for an error message: ``true``, ``null``,
    ``"text"`` (double quotes), ``12``, ``[1, 2]``. Text longer than ``limit`` characters is cut.

    Only on the failure path: valid requests never build a message.
    """
    if isinstance(value, np.datetime64 | pd.Timestamp | datetime):
        return "null" if pd.isna(value) else shown_as_json(pd.Timestamp(value).isoformat(), limit)
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if len(value) <= limit:
            return orjson.dumps(value).decode()
        return f"{orjson.dumps(value[:limit]).decode()}... ({len(value):,} characters)"
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


_NULL_SHOWN = "null or missing"
"""How a null in a request is shown: by the time the request is a frame, a field that a record left
out is null there too."""


class RequestContract:
    """What a use case accepts, compiled once: allowed fields, the feature code and the input checks."""

    def __init__(self, use_case: UseCase, *, extra_fields: str = "reject") -> None:
        self.use_case = use_case
        self.inputs: list[Feature] = list(use_case.inputs)
        data = use_case.data
        known = [f.name for f in self.inputs] + list(data.extra_columns)
        known += [c for c in (data.entity_key, data.time, data.label) if c]
        self.allowed: frozenset[str] = frozenset(known)
        self.reject_extra = extra_fields == "reject"
        self.feature_code: FeatureCode | None = load_feature_code(data.features) if data.features else None
        self.entity_key: str | None = data.entity_key
        # Raw fields named like an input are type-checked before the feature code runs, so that the
        # feature code cannot quietly coerce a bad value (True -> 1, 1.5 -> 1). Nulls, ranges and
        # categories are left to the check after it, on the values the model gets.
        self._raw_checks = [
            _InputCheck(f.model_copy(update={"nullable": True, "min": None, "max": None, "categories": None}))
            for f in self.inputs
        ]
        self._checks = [_InputCheck(f) for f in self.inputs]
        self._names = [f.name for f in self.inputs]
        # The time column, when it is not an input, must still be a date-time: the prediction log
        # keeps it, and joining late labels by time needs it readable.
        time = data.time
        self._time: Feature | None = (
            Feature(name=time, type="datetime", nullable=True) if time and time not in self._names else None
        )
        # The spec's output adapter for the score, applied exactly as the handoff check applies it.
        from modelyard.check import adapters_from_spec

        adapter = adapters_from_spec(use_case).get(use_case.outputs[0].name if use_case.outputs else "score")
        self.score_adapter: Callable[[Any], Any] | None = adapter.apply if adapter is not None else None

    def check_fields(self, names: Iterable[str]) -> None:
        """Refuse fields the spec does not know (cheap: runs on every request before it is queued)."""
        if not self.reject_extra:
            return
        extra = [n for n in names if n not in self.allowed]
        if extra:
            raise DataError(
                f"Field {extra[0]!r} is not an input of use case {self.use_case.name!r}"
                f"{f' (nor are {extra[1:5]})' if len(extra) > 1 else ''}; remove it, or list it under "
                "data.extra_columns in the spec. Known fields: " + ", ".join(sorted(self.allowed))
            )

    def prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Raw request rows → the model's validated inputs, in spec order."""
        if self._time is not None and self._time.name in raw.columns:
            _check_column(self._time, raw[self._time.name])
        features = raw
        if self.feature_code is not None:
            arrays = _column_arrays(raw, (c.name for c in self._raw_checks))
            for check in self._raw_checks:
                if check.name in arrays and not check.passes(arrays[check.name]):
                    _check_column(check.feature, raw[check.name])
            try:
                features = self.feature_code.apply(raw, partition="the request", key=self.entity_key)
            except DataError as exc:
                cause = exc.__cause__
                if isinstance(cause, KeyError) and cause.args and cause.args[0] not in raw.columns:
                    raise DataError(
                        f"Field {cause.args[0]!r} is missing; the feature code {self.feature_code.path} "
                        "needs it in every row. Send it."
                    ) from None
                self._blame_nulls(raw, cause)
                raise
        return self.validate(features)

    def _blame_nulls(self, raw: pd.DataFrame, failure: BaseException | None) -> None:
        """The feature code failed: when the request holds a null (or a record left a field out) in an
        input the spec says must not be null, report that field and row, which is what to fix. Only
        on failure: feature code that fills such nulls itself is left to do so."""
        for feature in self.inputs:
            if feature.nullable or feature.name not in raw.columns:
                continue
            rows = np.flatnonzero(pd.isna(raw[feature.name].to_numpy()))
            if len(rows):
                more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
                assert self.feature_code is not None  # only the feature code's failure brings us here
                why = f"the feature code {self.feature_code.path} failed on it"
                why += f": {type(failure).__name__}: {failure}" if failure is not None else ""
                raise DataError(
                    f"Field {feature.name!r} must not be null. Got {_NULL_SHOWN} in row {int(rows[0])}{more} "
                    f"instead; send a value in every row ({why})"
                ) from None

    def validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check every input column of ``frame`` (types, nulls, ranges, categories); return them typed."""
        missing = [f.name for f in self.inputs if f.name not in frame.columns]
        if missing:
            raise DataError(
                f"Field {missing[0]!r} is missing"
                f"{f' (and {len(missing) - 1} more: {missing[1:6]})' if len(missing) > 1 else ''}; "
                f"it is an input of use case {self.use_case.name!r}. Send it in every row"
                f"{' (null allowed)' if self._feature(missing[0]).nullable else ''}."
            )
        arrays = _column_arrays(frame, self._names)
        converted: dict[str, np.ndarray] = {}
        for check in self._checks:
            if not check.passes(arrays[check.name]):
                out = _check_column(check.feature, frame[check.name])
                if not isinstance(out, pd.Series):
                    converted[check.name] = out
        if not converted:  # every column already had the spec's type
            return frame if list(frame.columns) == self._names else frame[self._names]
        return pd.DataFrame({n: converted[n] if n in converted else frame[n] for n in self._names}, index=frame.index)

    def _feature(self, name: str) -> Feature:
        return next(f for f in self.inputs if f.name == name)


def _fail(feature: Feature, bad: np.ndarray, values: np.ndarray, what: str, fix: str) -> None:
    rows = np.flatnonzero(bad)
    row = int(rows[0])
    more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
    shown = shown_as_json(values[row])
    shown = _NULL_SHOWN if shown == "null" else shown
    raise DataError(f"Field {feature.name!r} {what}. Got {shown} in row {row}{more} instead; {fix}.")


def _check_column(feature: Feature, s: pd.Series) -> np.ndarray:
    """One input column the fast path (:class:`_InputCheck`) could not pass, converted to the
    spec's type as a numpy array; or a DataError naming the first bad row."""
    kind = feature.type
    values = s.to_numpy()
    na = pd.isna(values)
    any_na = bool(na.any())
    out: np.ndarray
    if kind in ("int", "float"):
        out = _numeric(feature, values, na)
    elif kind == "bool":
        out = _boolean(feature, values, na)
    elif kind == "datetime":
        out = values if values.dtype.kind == "M" else _utc_naive(values)
        bad = pd.isna(out) & ~na
        if bad.any():
            _fail(feature, bad, values, "must be a date-time", 'send an ISO 8601 string such as "2024-12-31T00:00:00"')
    else:  # category, string
        out = values.astype(object)
        is_str = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(out).astype(bool)
        bad = ~is_str & ~na
        if bad.any():
            _fail(feature, bad, values, "must be a string", "send text in quotes")
        if any_na:
            out = np.where(na, None, out)
        if kind == "category" and feature.categories is not None:
            _check_categories(feature, out, na)
    if any_na and not feature.nullable:
        _fail(feature, na, values, "must not be null", "send a value, or mark the input nullable: true in the spec")
    if kind in ("int", "float", "datetime") and (feature.min is not None or feature.max is not None):
        _check_range(feature, out, values, na)
    return out


def _utc_naive(values: np.ndarray) -> np.ndarray:
    """Date-times sent as text (ISO 8601, any mix of offsets, "Z" and none) as naive UTC
    ``datetime64`` in pandas' unit for them; what does not parse, and numbers and booleans (seconds?
    milliseconds?), are NaT. A batch joins requests from many clients, so one client's "+02:00" must
    not fail another's "Z". On the array, not a Series: a one-row request pays about 70 us."""
    timelike = np.frompyfunc(_written_as_time, 1, 1)(values).astype(bool)
    kept = np.where(timelike, values, None)
    return pd.to_datetime(kept, errors="coerce", format="mixed", utc=True).tz_localize(None).to_numpy()


def _written_as_time(value: Any) -> bool:
    return isinstance(value, str | date | np.datetime64)


def _column_arrays(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, Any]:
    """The values of each of ``names`` present in ``frame`` (its numpy array or pandas extension
    array), by name.

    pandas builds a Series for every ``frame[name]`` (about 11 us each on pandas 3), which on a
    one-row request costs more than the checks themselves; ``_iter_column_arrays`` hands out the
    arrays the frame already holds. When a pandas version lacks it, or names repeat, each column
    is taken by position; an input named twice is refused, as it cannot be told which to use.
    """
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is not None and frame.columns.is_unique:
        return dict(zip(frame.columns, iterate(), strict=True))
    out: dict[str, Any] = {}
    for name in names:
        positions = np.flatnonzero(frame.columns == name)
        if len(positions) > 1:
            raise DataError(
                f"Field {name!r} appears {len(positions)} times in the model inputs; give each column one name"
            )
        if len(positions) == 1:
            s = frame.iloc[:, int(positions[0])]
            out[name] = s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array
    return out


class _InputCheck:
    """One input's checks, compiled once per contract: the fast path for a column whose dtype
    already guarantees the spec's type (int64 for int, float64 for float, a string dtype for
    category and string; the columns feature code usually makes).

    Only numpy operations on the column's own array (and, for Arrow-backed text, its Arrow null
    count and values): pandas' methods cost tens of microseconds each, which is most of a one-row
    request.
    """

    def __init__(self, feature: Feature) -> None:
        self.feature = feature
        self.name = feature.name
        self.kind = feature.type
        self.allowed = (
            frozenset(str(c) for c in feature.categories)
            if self.kind == "category" and feature.categories is not None
            else None
        )
        self.ranged = feature.min is not None or feature.max is not None
        self._lo, self._hi = feature.min, feature.max  # numbers: the fast path checks int and float only

    def passes(self, values: Any) -> bool:
        """True when the column is fine as it is; False when the general path must look (it
        converts, fills, or names the bad row). Raises :class:`DataError` for a bad category or
        a value out of range found here."""
        kind = self.kind
        if kind in ("category", "string"):
            if not isinstance(values.dtype, pd.StringDtype):
                return False
            arrow = getattr(values, "_pa_array", None)  # Arrow-backed: its own null count and values
            if arrow is not None:
                if arrow.null_count:
                    return False  # the general path reports or fills the missing values
                if self.allowed is None or self.allowed.issuperset(arrow.to_pylist()):
                    return True
            na = values.isna()
            if na.any():
                return False
            if self.allowed is not None:
                _check_categories(self.feature, np.asarray(values, dtype=object), na, self.allowed)
            return True
        if not isinstance(values, np.ndarray):
            return False
        na = None
        if kind == "int":
            if values.dtype != np.int64:
                return False
        elif kind == "float":
            if values.dtype != np.float64:
                return False
            if not np.isfinite(values).all():
                na = np.isnan(values)
                if not self.feature.nullable or not (na | np.isfinite(values)).all():
                    return False  # nulls where none may be, or infinities: the general path says which
        else:
            return False
        if self.ranged:
            if na is not None:  # some nulls: compare value by value
                _check_range(self.feature, values, values, na)
            elif self._out_of_range(values):
                _check_range(self.feature, values, values, np.zeros(len(values), dtype=bool))
        return True

    def _out_of_range(self, values: np.ndarray) -> bool:
        """Whether any of ``values`` (no NaN among them) lies outside [min, max]."""
        if not len(values):
            return False
        lo, hi = self._lo, self._hi
        return bool((lo is not None and values.min() < lo) or (hi is not None and values.max() > hi))


def _check_categories(
    feature: Feature, values: np.ndarray, na: np.ndarray, allowed: frozenset[str] | None = None
) -> None:
    if allowed is None:
        allowed = frozenset(str(c) for c in feature.categories or ())
    known = np.frompyfunc(allowed.__contains__, 1, 1)(values).astype(bool)  # hashing, one C loop
    bad = ~known & ~na
    if bad.any():
        listed = ", ".join(shown_as_json(str(c), limit=1_000) for c in feature.categories or ())
        _fail(feature, bad, values, f"must be one of [{listed}]", "send one of those values")


_is_bool = np.frompyfunc(lambda v: isinstance(v, bool | np.bool_), 1, 1)


def _numeric(feature: Feature, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    what, fix = f"must be a number ({feature.type})", "send a JSON number, not text or a boolean"
    if values.dtype.kind == "b":
        _fail(feature, np.ones(len(values), bool), values, what, fix)
    if values.dtype.kind in "iuf":
        num = values.astype(np.float64)
    else:
        kinds = np.frompyfunc(
            lambda v: isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_), 1, 1
        )(values).astype(bool)
        bad = ~kinds & ~na
        if bad.any():
            _fail(feature, bad, values, what, fix)
        num = np.where(na, np.nan, values).astype(np.float64)
    finite = np.isfinite(num) | na
    if not finite.all():
        _fail(feature, ~finite, values, "must be finite", "send a finite number")
    if feature.type == "int":
        frac = (num != np.floor(num)) & ~na
        if frac.any():
            _fail(feature, frac, values, "must be a whole number (int)", "round it, or change the spec's type to float")
        huge = (np.abs(num) >= 2.0**63) & ~na
        if huge.any():
            _fail(feature, huge, values, "must fit in a 64-bit integer", "send a value between -2**63 and 2**63")
        if not na.any():
            return num.astype(np.int64)
    return num


def _boolean(feature: Feature, values: np.ndarray, na: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "b":
        return values
    ok = _is_bool(values).astype(bool) | ((values == 0) | (values == 1)) & ~na
    bad = ~ok & ~na
    if bad.any():
        _fail(feature, bad, values, "must be a boolean", "send true or false")
    out = np.where(na, None, values.astype(object))
    return out if na.any() else out.astype(bool)


def _check_range(feature: Feature, out: np.ndarray, values: np.ndarray, na: np.ndarray) -> None:
    lo, hi = feature.min, feature.max
    if feature.type == "datetime":
        lo = np.datetime64(pd.Timestamp(lo)) if lo is not None else None
        hi = np.datetime64(pd.Timestamp(hi)) if hi is not None else None
    span = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad = (out < lo) & ~na
            if bad.any():
                _fail(feature, bad, values, f"must be at least {lo}", f"send a value in {span}")
        if hi is not None:
            bad = (out > hi) & ~na
            if bad.any():
                _fail(feature, bad, values, f"must be at most {hi}", f"send a value in {span}")
