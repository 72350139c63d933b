"""ONNX parity: convert the model (skl2onnx, onnxmltools), compare its scores and latency with the original.

Tree models converted to ONNX compare features as float32; a value close to a split threshold can
then fall on the other side, so a few rows may differ a lot while the rest agree. Those rows are
named. The ONNX form may be served instead only when every row agrees within the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.check._result import Check, Status
from modelyard.flavors import LoadedModel, OnnxFlavor, SavedModel

__all__ = ["ONNX_TOLERANCE", "OnnxConversion", "convert_to_onnx", "onnx_check"]

ONNX_TOLERANCE = 1e-4
"""Largest absolute score difference for the ONNX form to count as the same model."""


@dataclass(frozen=True)
class OnnxConversion:
    """The converted model, or why there is none (``model`` None, ``reason`` set)."""

    model: LoadedModel | None
    frame_columns: list[str] | None
    reason: str = ""
    tool: str = ""


def convert_to_onnx(loaded: LoadedModel, frame: pd.DataFrame) -> OnnxConversion:
    """Convert a loaded scikit-learn or LightGBM model to ONNX and load it with the ONNX flavor."""
    if loaded.flavor == "onnx":
        return OnnxConversion(None, None, "the model is already ONNX")
    if loaded.flavor not in ("sklearn", "lightgbm"):
        return OnnxConversion(None, None, f"no ONNX converter for the {loaded.flavor} flavor")
    try:
        if loaded.flavor == "sklearn":
            proto, columns, tool = _from_sklearn(loaded, frame)
        else:
            proto, columns, tool = _from_lightgbm(loaded, frame)
        payload = proto.SerializeToString()
        onnx_model = OnnxFlavor().load(SavedModel("onnx", "onnx", payload, {"task": loaded.task}))
    except ImportError as exc:
        return OnnxConversion(None, None, f"the converter is not installed ({exc.name}); pip install 'modelyard[onnx]'")
    except Exception as exc:
        return OnnxConversion(None, None, f"conversion failed: {_why(exc)}")
    return OnnxConversion(onnx_model, columns, tool=tool)


def _why(exc: BaseException) -> str:
    """One line: the error, cut short, and the error that caused it (converters wrap the real one)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    why = f"{type(exc).__name__}: {text[:100]}{'...' if len(text) > 100 else ''}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        inner = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        why += f" (caused by {type(cause).__name__}: {inner[:160]})"
    return why


def _from_sklearn(loaded: LoadedModel, frame: pd.DataFrame) -> tuple[Any, list[str], str]:
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    columns = list(loaded.input_names) if loaded.input_names is not None else [str(c) for c in frame.columns]
    if all(pd.api.types.is_numeric_dtype(frame[c]) for c in columns):
        # One float tensor: what a bare estimator converts to (only pipelines take one input per column).
        initial: list[tuple[str, Any]] = [("input", FloatTensorType([None, len(columns)]))]
    elif loaded.input_names is None:
        raise ValueError("the model takes an unnamed array and the inputs are not all numeric")
    else:
        initial = [
            (c, FloatTensorType([None, 1]) if pd.api.types.is_numeric_dtype(frame[c]) else StringTensorType([None, 1]))
            for c in columns
        ]
    options = {id(loaded.raw): {"zipmap": False}} if hasattr(loaded.raw, "predict_proba") else None
    proto = skl2onnx.convert_sklearn(loaded.raw, initial_types=initial, options=options)
    return proto, columns, f"skl2onnx {skl2onnx.__version__}"


def _from_lightgbm(loaded: LoadedModel, frame: pd.DataFrame) -> tuple[Any, list[str], str]:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    if loaded.metadata.get("pandas_categorical"):
        raise ValueError("the model uses pandas categorical columns, which onnxmltools cannot convert")
    columns = list(loaded.input_names) if loaded.input_names is not None else [str(c) for c in frame.columns]
    proto = onnxmltools.convert_lightgbm(
        loaded.raw, initial_types=[("input", FloatTensorType([None, len(columns)]))], zipmap=False
    )
    return proto, columns, f"onnxmltools {onnxmltools.__version__}"


def onnx_check(
    conversion: OnnxConversion,
    frame: pd.DataFrame,
    native: np.ndarray,
    *,
    onnx_p99_ms: float | None = None,
    native_p99_ms: float | None = None,
) -> tuple[Check, dict[str, float]]:
    """The ONNX row: whether the converted model agrees with the original on every row."""
    if conversion.model is None:
        if conversion.reason == "the model is already ONNX":
            return Check("onnx", Status.PASS, conversion.reason), {"onnx_servable": 1.0}
        if conversion.reason.startswith("no ONNX converter"):
            return Check("onnx", Status.SKIP, conversion.reason), {"onnx_servable": 0.0}
        fix = "serve the model in its own flavor; ONNX is optional"
        return Check("onnx", Status.WARN, conversion.reason, fix=fix), {"onnx_servable": 0.0}
    scores = conversion.model.score(frame[conversion.frame_columns] if conversion.frame_columns else frame)
    diff = np.abs(scores - native)
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = float(diff.max()) if diff.size else 0.0
    measurements = {"onnx_max_abs_diff": worst, "onnx_servable": 0.0}
    speed = ""
    if onnx_p99_ms is not None and native_p99_ms is not None:
        measurements["onnx_latency_p99_ms"] = onnx_p99_ms
        speed = f"; p99 {onnx_p99_ms:.2f} ms in ONNX vs {native_p99_ms:.2f} ms"
    measured = f"max |diff| {worst:.3g}{speed}"
    budget = f"<= {ONNX_TOLERANCE:g}"
    if worst <= ONNX_TOLERANCE:
        measurements["onnx_servable"] = 1.0
        return (
            Check(
                "onnx",
                Status.PASS,
                f"converted with {conversion.tool}; all {len(frame):,} rows agree: the ONNX form may be served",
                measured=measured,
                budget=budget,
            ),
            measurements,
        )
    differing = np.flatnonzero(diff > ONNX_TOLERANCE)
    shown = ", ".join(
        f"row {int(i)} (index {frame.index[int(i)]!r}): {native[int(i)]:.4f} vs {scores[int(i)]:.4f}"
        for i in differing[:5]
    )
    return (
        Check(
            "onnx",
            Status.WARN,
            f"converted with {conversion.tool}, but {len(differing):,} of {len(frame):,} rows differ by more than "
            f"{ONNX_TOLERANCE:g} ({shown}); float32 casts flip tree splits near thresholds. "
            "Do not serve the ONNX form",
            measured=measured,
            budget=budget,
            fix="serve the original flavor, or train on float32-rounded features so splits fall between values",
            details={"rows": differing[:50].tolist(), "max_abs_diff": worst},
        ),
        measurements,
    )
