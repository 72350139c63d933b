"""The flavor contract: what a saved model is, what a loaded model does, what a flavor must offer.

A flavor turns a model object into one opaque byte payload plus a small JSON metadata dict
(:class:`SavedModel`), and turns that back into a :class:`LoadedModel` whose ``score`` maps a
pandas DataFrame to a 1-d float64 array (for binary classification, the probability of the
positive class).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from modelyard._exceptions import UsageError

__all__ = [
    "DTYPES",
    "ColumnSpec",
    "Flavor",
    "LoadedModel",
    "ModelInfo",
    "SavedModel",
    "Signature",
    "as_scores",
    "check_serialization",
    "dtype_of",
    "select_columns",
]

DTYPES: tuple[str, ...] = ("int", "float", "bool", "category", "string", "datetime")
"""The column types a signature may name."""


@dataclass(frozen=True)
class ColumnSpec:
    """One named, typed column of a model's input or output."""

    name: str
    dtype: str

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise UsageError(
                f"The dtype of column {self.name!r} must be one of {', '.join(DTYPES)}. Got {self.dtype!r} instead."
            )


@dataclass(frozen=True)
class Signature:
    """The columns a model reads and the columns it answers with."""

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...]

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        """JSON-ready form: ``{"inputs": [{"name", "dtype"}...], "outputs": [...]}``."""
        return {
            "inputs": [{"name": c.name, "dtype": c.dtype} for c in self.inputs],
            "outputs": [{"name": c.name, "dtype": c.dtype} for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        """Inverse of :meth:`to_dict`; a malformed dict raises :class:`UsageError`."""
        try:
            return cls(
                inputs=tuple(ColumnSpec(str(c["name"]), str(c["dtype"])) for c in d["inputs"]),
                outputs=tuple(ColumnSpec(str(c["name"]), str(c["dtype"])) for c in d["outputs"]),
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(
                f"A signature must be {{'inputs': [{{'name', 'dtype'}}, ...], 'outputs': [...]}}. Got {d!r} instead."
            ) from exc


@dataclass(frozen=True)
class SavedModel:
    """A model as the registry stores it: one byte payload plus a few recorded fields."""

    flavor: str
    format: str
    payload: bytes
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.payload, bytes):
            raise UsageError(f"SavedModel.payload must be bytes. Got {type(self.payload).__name__} instead.")
        try:
            json.dumps(self.metadata)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"SavedModel.metadata must be JSON-serialisable: {exc}") from exc


@dataclass(frozen=True)
class ModelInfo:
    """What a flavor can tell about a model object without saving it (used by ``infer_signature``)."""

    input_names: tuple[str, ...] | None = None
    input_dtypes: dict[str, str] = field(default_factory=dict)
    task: str = "binary"  # "binary" | "regression"


class LoadedModel(ABC):
    """A model ready to score. Subclasses implement :meth:`_predict`; :meth:`score` validates.

    ``raw`` is the library object (estimator, Booster, InferenceSession, function);
    ``input_names`` the columns it reads in order, or ``None`` when the model does not name them.
    """

    flavor: str = ""

    def __init__(
        self,
        raw: Any,
        *,
        format: str,
        input_names: Sequence[str] | None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.raw = raw
        self.format = format
        self.input_names: tuple[str, ...] | None = tuple(input_names) if input_names is not None else None
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._prepare()

    def _prepare(self) -> None:
        """Derive, once at load, whatever scoring needs from ``raw`` (nothing by default)."""
        return None

    @property
    def task(self) -> str:
        """``"binary"`` (scores are probabilities) or ``"regression"``."""
        return str(self.metadata.get("task", "binary"))

    def score(self, X: pd.DataFrame, *, adapter: Callable[[Any], Any] | None = None) -> np.ndarray:
        """Score every row of ``X``: a float64 array of shape ``(len(X),)``.

        ``adapter`` (a spec output adapter's ``apply``) turns an almost-right answer (a ``proba``
        column, percent) into scores before they are coerced.
        """
        if not isinstance(X, pd.DataFrame):
            raise UsageError(f"score() takes a pandas DataFrame. Got {type(X).__name__} instead.")
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        answer = self._predict(X)
        return as_scores(adapter(answer) if adapter is not None else answer, len(X), self.flavor)

    @abstractmethod
    def _predict(self, X: pd.DataFrame) -> Any:
        """The library call; its result is coerced by :func:`as_scores`."""

    def __repr__(self) -> str:
        kind = type(self.raw).__name__
        return f"<{type(self).__name__} flavor={self.flavor!r} format={self.format!r} raw={kind}>"


@runtime_checkable
class Flavor(Protocol):
    """One model kind: detect it, save it to bytes, load it back."""

    name: str
    serializations: tuple[str, ...]

    def handles(self, obj: Any) -> bool:
        """Whether ``obj`` is of this flavor. Must not import optional libraries."""
        ...

    def save(self, obj: Any, *, serialization: str | None = None, trust: bool = False) -> SavedModel:
        """Turn ``obj`` into a :class:`SavedModel`."""
        ...

    def load(self, saved: SavedModel, *, trust: bool = False) -> LoadedModel:
        """Turn a :class:`SavedModel` of this flavor back into a :class:`LoadedModel`."""
        ...

    def describe(self, obj: Any) -> ModelInfo:
        """Input names/types and task of a model object, for ``infer_signature``."""
        ...


def check_serialization(flavor: str, serialization: str | None, allowed: tuple[str, ...]) -> str:
    """Return the serialization to use (the first allowed one by default) or raise :class:`UsageError`."""
    if serialization is None:
        return allowed[0]
    if serialization not in allowed:
        raise UsageError(
            f"The serialization of the {flavor!r} flavor must be one of {', '.join(allowed)}. "
            f"Got {serialization!r} instead."
        )
    return serialization


def as_scores(result: Any, n_rows: int, flavor: str) -> np.ndarray:
    """Coerce a model's output to a float64 array of shape ``(n_rows,)``.

    A 2-column result (``predict_proba`` style) gives its column 1; a 1-column result is flattened.
    """
    try:
        arr = np.asarray(result)
    except Exception as exc:  # ragged lists and the like
        raise UsageError(
            f"The {flavor!r} model returned something that is not an array: {type(result).__name__}."
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise UsageError(
            f"The {flavor!r} model must return numeric scores. "
            f"Got an array of dtype {arr.dtype} (from {type(result).__name__}) instead."
        )
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise UsageError(
            f"The {flavor!r} model must return one score per row: shape ({n_rows},). Got shape {arr.shape} instead."
        )
    return np.asarray(arr, dtype=np.float64)


def select_columns(X: pd.DataFrame, names: Sequence[str] | None) -> pd.DataFrame:
    """``X`` with exactly the columns ``names`` in that order (no copy when already so)."""
    if names is None:
        return X
    names = list(names)
    if list(X.columns) == names:
        return X
    missing = [n for n in names if n not in X.columns]
    if missing:
        raise UsageError(
            f"The input is missing {len(missing)} column(s) the model reads: {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}. Got columns {list(X.columns)[:10]}."
        )
    return X[names]


def dtype_of(series: pd.Series) -> str:
    """The signature dtype of a pandas column."""
    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    if pd.api.types.is_string_dtype(dt) and not pd.api.types.is_object_dtype(dt):
        return "string"
    # object columns: strings or mixed values, treated as categories of a model input
    return "category"
