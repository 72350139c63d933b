"""Flavors: save a model object to bytes, load it back, and score a DataFrame with it.

Each model kind (scikit-learn, LightGBM, ONNX, a plain Python function) is one flavor behind one
small protocol (:class:`Flavor`). Safe formats come first (skops, LightGBM text, ONNX, import
paths); pickle is written and read only when ``trust=True``.

>>> saved = save_model(estimator)                    # doctest: +SKIP
>>> scores = load_model(saved).score(frame)          # doctest: +SKIP
"""

from modelyard.flavors._base import (
    DTYPES,
    ColumnSpec,
    Flavor,
    LoadedModel,
    ModelInfo,
    SavedModel,
    Signature,
)
from modelyard.flavors._lightgbm import LightGBMFlavor, LightGBMModel
from modelyard.flavors._onnx import OnnxFlavor, OnnxModel
from modelyard.flavors._pyfunc import PythonFunctionFlavor, PythonFunctionModel
from modelyard.flavors._select import (
    flavor_for,
    flavor_names,
    get_flavor,
    infer_signature,
    load_model,
    save_model,
)
from modelyard.flavors._sklearn import SklearnFlavor, SklearnModel

__all__ = [
    "DTYPES",
    "ColumnSpec",
    "Flavor",
    "LightGBMFlavor",
    "LightGBMModel",
    "LoadedModel",
    "ModelInfo",
    "OnnxFlavor",
    "OnnxModel",
    "PythonFunctionFlavor",
    "PythonFunctionModel",
    "SavedModel",
    "Signature",
    "SklearnFlavor",
    "SklearnModel",
    "flavor_for",
    "flavor_names",
    "get_flavor",
    "infer_signature",
    "load_model",
    "save_model",
]
