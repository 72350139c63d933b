"""Choosing a flavor by name or by object, and the save/load/signature entry points."""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd

from modelyard._exceptions import UnknownFlavorError, UsageError
from modelyard.flavors._base import (
    ColumnSpec,
    Flavor,
    LoadedModel,
    ModelInfo,
    SavedModel,
    Signature,
    dtype_of,
)
from modelyard.flavors._lightgbm import LightGBMFlavor
from modelyard.flavors._onnx import ONNX_SIGNATURE_DTYPES, OnnxFlavor
from modelyard.flavors._pyfunc import PythonFunctionFlavor
from modelyard.flavors._sklearn import SklearnFlavor, refuse_regressor

__all__ = ["TASKS", "flavor_for", "flavor_names", "get_flavor", "infer_signature", "load_model", "save_model"]

# Detection order matters: LightGBM's wrappers also look like scikit-learn estimators.
_FLAVORS: dict[str, Flavor] = {
    f.name: f for f in (LightGBMFlavor(), OnnxFlavor(), SklearnFlavor(), PythonFunctionFlavor())
}


def flavor_names() -> tuple[str, ...]:
    """The names of the known flavors, sorted."""
    return tuple(sorted(_FLAVORS))


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; an unknown name raises :class:`UnknownFlavorError` naming the closest."""
    try:
        return _FLAVORS[name]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(name), list(_FLAVORS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownFlavorError(f"Unknown flavor {name!r}.{hint} Known flavors: {', '.join(flavor_names())}.")


def flavor_for(obj: Any, flavor: str | None = None) -> Flavor:
    """The flavor named ``flavor``, or the first that handles ``obj`` (else :class:`UnknownFlavorError`)."""
    if flavor is not None:
        return get_flavor(flavor)
    for candidate in _FLAVORS.values():
        if candidate.handles(obj):
            return candidate
    kind = type(obj)
    hint = " For the bytes of an ONNX model, pass flavor='onnx'." if isinstance(obj, bytes | bytearray) else ""
    raise UnknownFlavorError(
        f"No flavor handles a model of type {kind.__module__}.{kind.__qualname__}. "
        f"Known flavors: {', '.join(flavor_names())}.{hint}"
    )


TASKS: tuple[str, ...] = ("binary", "regression")
"""What a saved model may be for: ``binary`` classification (every use case, for now) or ``regression``."""


def save_model(
    obj: Any,
    *,
    flavor: str | None = None,
    serialization: str | None = None,
    trust: bool = False,
    task: str = "binary",
) -> SavedModel:
    """Save ``obj`` with its flavor (detected unless given). ``trust=True`` allows pickle-based formats.

    ``task`` is what the model is for: ``"binary"`` (the default, as every use case is a binary
    classification for now) refuses a scikit-learn-style regressor; ``"regression"`` saves one.
    """
    if task not in TASKS:
        raise UsageError(f"The 'task' parameter must be one of {', '.join(TASKS)}. Got {task!r} instead.")
    chosen = flavor_for(obj, flavor)
    if task == "binary":
        refuse_regressor(obj)
    saved = chosen.save(obj, serialization=serialization, trust=trust)
    objective = saved.metadata.get("objective")  # recorded by LightGBM (a Booster or model.txt says no more)
    if task == "binary" and objective and saved.metadata.get("task") == "regression":
        # (an ONNX model with one output is "regression" too, but may well score a probability)
        raise UsageError(
            f"This {chosen.name} model was trained for regression (objective {objective!r}), and a binary "
            "classifier must score a probability. Retrain it for binary classification (for LightGBM: "
            "objective='binary', e.g. lightgbm.LGBMClassifier), or save it with task='regression'."
        )
    return saved


def load_model(saved: SavedModel, *, trust: bool = False) -> LoadedModel:
    """Load a :class:`SavedModel`. Formats that run code from the payload need ``trust=True``."""
    if not isinstance(saved, SavedModel):
        raise UsageError(f"load_model() takes a SavedModel. Got {type(saved).__name__} instead.")
    return get_flavor(saved.flavor).load(saved, trust=trust)


def _info(model: Any) -> ModelInfo:
    if isinstance(model, LoadedModel):
        dtypes: dict[str, str] = {}
        for spec in model.metadata.get("inputs") or []:  # ONNX records its input types
            dtypes[spec["name"]] = ONNX_SIGNATURE_DTYPES.get(spec["type"], "float")
        if model.input_names is None and len(dtypes) == 1:
            dtypes = {"*": next(iter(dtypes.values()))}
        return ModelInfo(input_names=model.input_names, input_dtypes=dtypes, task=model.task)
    return flavor_for(model).describe(model)


def infer_signature(model: Any, sample: pd.DataFrame | None = None) -> Signature:
    """The input and output columns of ``model`` (a model object or a :class:`LoadedModel`).

    Input names come from the model when it records them, else from ``sample``'s columns; dtypes come
    from ``sample`` where given, else from the model (ONNX), else ``float``. Outputs are ``score``
    (float) and, for binary classifiers, ``label`` (bool).
    """
    if sample is not None and not isinstance(sample, pd.DataFrame):
        raise UsageError(f"The sample must be a pandas DataFrame. Got {type(sample).__name__} instead.")
    info = _info(model)
    names = info.input_names
    if names is None:
        if sample is None:
            raise UsageError(
                "This model does not record its input column names; pass a sample DataFrame to infer them."
            )
        names = tuple(str(c) for c in sample.columns)
    inputs = []
    for name in names:
        if sample is not None and name in sample.columns:
            dtype = dtype_of(sample[name])
        else:
            dtype = info.input_dtypes.get(name) or info.input_dtypes.get("*", "float")
        inputs.append(ColumnSpec(name, dtype))
    outputs = [ColumnSpec("score", "float")]
    if info.task == "binary":
        outputs.append(ColumnSpec("label", "bool"))
    return Signature(inputs=tuple(inputs), outputs=tuple(outputs))
