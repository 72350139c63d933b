"""Output adapters: one line of spec that turns an almost-right model output into the contract's.

An output in the spec may carry ``adapter: {column: ..., scale: ...}``::

    outputs:
      - name: score
        type: float
        min: 0
        max: 1
        adapter: {column: 1}        # take column 1 of a two-column output (predict_proba)
      # adapter: {column: proba}    # read the model's column 'proba'
      # adapter: {scale: 0.01}      # the model answers in percent

``column`` picks a column by name or position, ``scale`` multiplies. The server and the handoff
check apply the same :meth:`OutputAdapter.apply`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import UsageError

__all__ = ["ADAPTER_KEYS", "OutputAdapter", "adapters_from_spec", "apply_adapters"]

ADAPTER_KEYS = ("column", "scale")


@dataclass(frozen=True)
class OutputAdapter:
    """How to read one spec output from what the model returns."""

    output: str
    column: str | int | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        if self.column is None and self.scale is None:
            raise UsageError(
                f"The adapter of output {self.output!r} must set 'column' or 'scale'. Got neither instead."
            )
        if self.column is not None and (
            isinstance(self.column, bool)
            or not isinstance(self.column, str | int)
            or (isinstance(self.column, int) and self.column < 0)
        ):
            raise UsageError(
                f"The adapter 'column' of output {self.output!r} must be a column name or a position >= 0. "
                f"Got {self.column!r} instead."
            )
        if self.scale is not None and (
            isinstance(self.scale, bool) or not isinstance(self.scale, int | float) or not self.scale > 0
        ):
            raise UsageError(
                f"The adapter 'scale' of output {self.output!r} must be a number > 0. Got {self.scale!r} instead."
            )

    @classmethod
    def from_dict(cls, output: str, data: Mapping[str, Any]) -> OutputAdapter:
        """An adapter from its spec form, e.g. ``{"column": 1}``; unknown keys raise :class:`UsageError`."""
        if not isinstance(data, Mapping):
            raise UsageError(
                f"The adapter of output {output!r} must be a mapping such as {{column: 1}}. Got {data!r} instead."
            )
        unknown = sorted(set(data) - set(ADAPTER_KEYS))
        if unknown:
            raise UsageError(
                f"The adapter of output {output!r} has unknown keys {unknown}; allowed: {', '.join(ADAPTER_KEYS)}."
            )
        scale: Any = data.get("scale")
        if _is_number(scale):
            scale = float(scale)
        return cls(output, column=data.get("column"), scale=scale)

    def to_dict(self) -> dict[str, Any]:
        """The spec form: only the keys that are set."""
        out: dict[str, Any] = {}
        if self.column is not None:
            out["column"] = self.column
        if self.scale is not None:
            out["scale"] = self.scale
        return out

    def line(self) -> str:
        """The exact YAML line to add under the output in the spec, e.g. ``adapter: {column: 1}``."""
        parts = []
        if self.column is not None:
            parts.append(f"column: {_yaml_scalar(self.column)}")
        if self.scale is not None:
            parts.append(f"scale: {self.scale:g}")
        return "adapter: {" + ", ".join(parts) + "}"

    def apply(self, raw: Any) -> np.ndarray:
        """The output's values from the model's raw answer."""
        values = self._pick(raw) if self.column is not None else _as_array(raw)
        if self.scale is not None:
            values = np.asarray(values, dtype=np.float64) * self.scale
        return values

    def _pick(self, raw: Any) -> np.ndarray:
        column = self.column
        if isinstance(raw, pd.DataFrame):
            if isinstance(column, int):
                if column >= raw.shape[1]:
                    raise UsageError(f"adapter column {column} is out of range: the model returned {raw.shape[1]}.")
                return raw.iloc[:, column].to_numpy()
            if column not in raw.columns:
                raise UsageError(
                    f"adapter column {column!r} is not in the model's output; it has {list(map(str, raw.columns))}."
                )
            return raw[column].to_numpy()
        if isinstance(raw, pd.Series) and raw.name == column:
            return raw.to_numpy()
        if isinstance(raw, Mapping):
            if column not in raw:
                raise UsageError(f"adapter column {column!r} is not in the model's output; it has {list(raw)}.")
            return np.asarray(raw[column])
        arr = _as_array(raw)
        if not isinstance(column, int):
            raise UsageError(
                f"adapter column {column!r} names a column, but the model returned an unnamed array "
                f"of shape {arr.shape}; use a position such as column: 1."
            )
        if arr.ndim != 2 or column >= arr.shape[1]:
            raise UsageError(f"adapter column {column} does not exist in an output of shape {arr.shape}.")
        return arr[:, column]


def adapters_from_spec(use_case: Any) -> dict[str, OutputAdapter]:
    """The adapters a use case declares, by output name (read from its plain-data form)."""
    data = use_case.to_yaml_dict() if hasattr(use_case, "to_yaml_dict") else dict(use_case)
    out: dict[str, OutputAdapter] = {}
    for output in data.get("outputs") or []:
        spec = output.get("adapter")
        if spec:
            out[output["name"]] = OutputAdapter.from_dict(output["name"], spec)
    return out


def apply_adapters(raw: Any, adapters: Mapping[str, OutputAdapter], output: str) -> Any:
    """What the server scores with: the adapted values of ``output``, or ``raw`` when it has no adapter."""
    adapter = adapters.get(output)
    return raw if adapter is None else adapter.apply(raw)


def _as_array(raw: Any) -> np.ndarray:
    if isinstance(raw, pd.DataFrame | pd.Series):
        return raw.to_numpy()
    return np.asarray(raw)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _yaml_scalar(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    plain = value.replace("_", "").isalnum() and not value[:1].isdigit()
    return value if plain and value.lower() not in {"yes", "no", "true", "false", "on", "off", "null"} else repr(value)
