"""Choosing flavors, the public API, signatures and the contract every flavor keeps."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import modelyard.flavors as flavors
from modelyard._exceptions import UnknownFlavorError, UsageError
from modelyard.flavors import ColumnSpec, Flavor, SavedModel, Signature, flavor_names, get_flavor, save_model
from modelyard.flavors._base import as_scores, dtype_of


def test_exported_members():
    public = {name for name in dir(flavors) if not name.startswith("_")}
    assert set(flavors.__all__) == public - {"annotations"}


def test_every_flavor_keeps_the_protocol():
    assert flavor_names() == ("lightgbm", "onnx", "python_function", "sklearn")
    for name in flavor_names():
        flavor = get_flavor(name)
        assert isinstance(flavor, Flavor) and flavor.name == name


def test_unknown_flavor_suggests_closest():
    with pytest.raises(
        UnknownFlavorError,
        match=r"^Unknown flavor 'sklern'\. Did you mean 'sklearn'\? "
        r"Known flavors: lightgbm, onnx, python_function, sklearn\.$",
    ):
        get_flavor("sklern")
    with pytest.raises(UnknownFlavorError, match=r"^Unknown flavor 'xgb'\. Known flavors"):
        save_model(object(), flavor="xgb")


def test_object_no_flavor_handles_is_named():
    with pytest.raises(UnknownFlavorError, match=r"No flavor handles a model of type builtins\.dict\. Known flavors"):
        save_model({"weights": [1, 2]})
    with pytest.raises(UnknownFlavorError, match=r"type builtins\.type"):
        save_model(pd.DataFrame)  # a class, not a model


def test_detection_imports_no_optional_library():
    code = (
        "import sys, modelyard.flavors as f\n"
        "f.flavor_for(lambda df: df)\n"
        "try:\n    f.flavor_for(object())\nexcept f.flavor_for.__globals__['UnknownFlavorError']:\n    pass\n"
        "optional = ('lightgbm', 'onnx', 'onnxruntime', 'skl2onnx', 'onnxmltools')\n"
        "print(sorted(m for m in optional if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_signature_dict_round_trip():
    sig = Signature(
        inputs=(ColumnSpec("a", "int"), ColumnSpec("b", "category")), outputs=(ColumnSpec("score", "float"),)
    )
    assert Signature.from_dict(sig.to_dict()) == sig
    with pytest.raises(
        UsageError,
        match=r"dtype of column 'a' must be one of int, float, bool, category, string, "
        r"datetime\. Got 'int64' instead\.",
    ):
        Signature.from_dict({"inputs": [{"name": "a", "dtype": "int64"}], "outputs": []})
    with pytest.raises(UsageError, match="A signature must be"):
        Signature.from_dict({"inputs": [{"name": "a"}]})


def test_dtype_mapping():
    df = pd.DataFrame(
        {
            "i": [1, 2],
            "f": [1.0, np.nan],
            "b": [True, False],
            "c": pd.Categorical(["x", "y"]),
            "o": pd.Series(["x", 1], dtype=object),
            "s": pd.Series(["x", "y"], dtype="string"),
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    assert {c: dtype_of(df[c]) for c in df} == {
        "i": "int",
        "f": "float",
        "b": "bool",
        "c": "category",
        "o": "category",
        "s": "string",
        "t": "datetime",
        "n": "int",
    }


def test_saved_model_validates():
    with pytest.raises(UsageError, match=r"payload must be bytes\. Got str instead"):
        SavedModel("sklearn", "skops", "not bytes", {})  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="metadata must be JSON-serialisable"):
        SavedModel("sklearn", "skops", b"", {"x": object()})


def test_as_scores():
    np.testing.assert_array_equal(as_scores([[0.1], [0.2]], 2, "x"), [0.1, 0.2])
    assert as_scores(np.array([True, False]), 2, "x").dtype == np.float64
    with pytest.raises(UsageError, match=r"'x' model must return one score per row: shape \(2,\)\. Got shape \(2, 3\)"):
        as_scores(np.zeros((2, 3)), 2, "x")
    with pytest.raises(UsageError, match="not an array"):
        as_scores([[1], [1, 2]], 2, "x")
