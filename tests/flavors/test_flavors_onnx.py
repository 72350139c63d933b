"""The ONNX flavor: skl2onnx models (ZipMap on and off, one tensor or one input per column)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard._exceptions import MissingExtraError, UnknownFlavorError, UsageError
from modelyard.flavors import ColumnSpec, OnnxModel, flavor_for, infer_signature, load_model, save_model

TOLERANCE = 1e-5  # ONNX Runtime computes in float32


@pytest.fixture(scope="module")
def logistic(frame):
    X, y = frame
    return LogisticRegression().fit(X.to_numpy(np.float32), y)


@pytest.fixture(scope="module")
def pipeline(frame):
    X, y = frame
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


def _per_column(pipeline, frame, zipmap):
    X, _ = frame
    options = None if zipmap else {id(pipeline.steps[-1][1]): {"zipmap": False}}
    initial = [(c, FloatTensorType([None, 1])) for c in X.columns]
    return convert_sklearn(pipeline, initial_types=initial, options=options)


@pytest.mark.parametrize("zipmap", [True, False])
def test_single_tensor_round_trip(logistic, frame, zipmap):
    X, _ = frame
    options = None if zipmap else {id(logistic): {"zipmap": False}}
    proto = to_onnx(logistic, X.to_numpy(np.float32)[:1], options=options)
    assert flavor_for(proto).name == "onnx"
    saved = save_model(proto)
    assert (saved.flavor, saved.format) == ("onnx", "onnx")
    assert saved.metadata["input_names"] is None and saved.metadata["task"] == "binary"
    loaded = load_model(saved)
    assert isinstance(loaded, OnnxModel)
    scores = loaded.score(X)
    assert scores.dtype == np.float64 and scores.shape == (len(X),)
    np.testing.assert_allclose(scores, logistic.predict_proba(X.to_numpy(np.float32))[:, 1], atol=TOLERANCE)


@pytest.mark.parametrize("zipmap", [True, False])
def test_one_input_per_column_round_trip(pipeline, frame, zipmap):
    X, _ = frame
    saved = save_model(_per_column(pipeline, frame, zipmap).SerializeToString(), flavor="onnx")
    assert saved.metadata["input_names"] == list(X.columns)
    loaded = load_model(saved)
    assert loaded.input_names == tuple(X.columns)
    expected = pipeline.predict_proba(X)[:, 1]
    np.testing.assert_allclose(loaded.score(X), expected, atol=TOLERANCE)
    np.testing.assert_allclose(loaded.score(X[X.columns[::-1]]), expected, atol=TOLERANCE)
    if zipmap:
        assert loaded.metadata["classes"] == [0, 1]
    with pytest.raises(UsageError, match=r"missing 1 column\(s\) the model reads: \['f2'\]"):
        loaded.score(X.drop(columns="f2"))


def test_per_column_inputs_take_any_column_layout(pipeline, frame):
    """Columns are taken as arrays from the frame (no Series each): nullable dtypes and extra
    columns give the scores of a plain frame; a column named twice is refused by name."""
    X, _ = frame
    loaded = load_model(save_model(_per_column(pipeline, frame, False).SerializeToString(), flavor="onnx"))
    expected = loaded.score(X)
    nullable = X.astype({"f0": "Float64", "f1": "float32"}).assign(extra="text")
    np.testing.assert_allclose(loaded.score(nullable), expected, atol=TOLERANCE)
    repeated_extra = pd.concat([nullable, nullable[["extra"]]], axis=1)
    np.testing.assert_allclose(loaded.score(repeated_extra), expected, atol=TOLERANCE)
    twice = pd.concat([X, X[["f0"]].rename(columns={"f0": "f1"})], axis=1)
    with pytest.raises(UsageError, match=r"^The input names column\(s\) \['f1'\] more than once; give each"):
        loaded.score(twice)


def test_session_uses_one_thread(logistic, frame):
    X, _ = frame
    loaded = load_model(save_model(to_onnx(logistic, X.to_numpy(np.float32)[:1])))
    assert loaded.raw.get_session_options().intra_op_num_threads == 1
    assert loaded.raw.get_providers() == ["CPUExecutionProvider"]


def test_regression_score_tensor(frame):
    X, y = frame
    model = LinearRegression().fit(X.to_numpy(np.float32), y.astype(np.float32))
    saved = save_model(to_onnx(model, X.to_numpy(np.float32)[:1]))
    assert saved.metadata["task"] == "regression"
    assert [c.name for c in infer_signature(to_onnx(model, X.to_numpy(np.float32)[:1]), X).outputs] == ["score"]
    np.testing.assert_allclose(load_model(saved).score(X), model.predict(X.to_numpy(np.float32)), atol=1e-4)


def test_wrong_width(logistic, frame):
    X, _ = frame
    loaded = load_model(save_model(to_onnx(logistic, X.to_numpy(np.float32)[:1])))
    with pytest.raises(UsageError, match=r"takes 6 columns\. Got 5 columns instead\."):
        loaded.score(X.iloc[:, :5])


def test_bytes_need_explicit_flavor_and_must_be_onnx(logistic, frame):
    X, _ = frame
    payload = to_onnx(logistic, X.to_numpy(np.float32)[:1]).SerializeToString()
    with pytest.raises(UnknownFlavorError, match=r"type builtins\.bytes.*pass flavor='onnx'"):
        save_model(payload)
    with pytest.raises(UsageError, match="These 3 bytes are not an ONNX model"):
        save_model(b"abc", flavor="onnx")


def test_signature(pipeline, logistic, frame):
    X, _ = frame
    proto = _per_column(pipeline, frame, zipmap=True)
    expected = tuple(ColumnSpec(c, "float") for c in X.columns)
    assert infer_signature(proto).inputs == expected
    assert infer_signature(load_model(save_model(proto))).inputs == expected
    tensor = to_onnx(logistic, X.to_numpy(np.float32)[:1])
    with pytest.raises(UsageError, match="pass a sample DataFrame"):
        infer_signature(tensor)
    assert infer_signature(tensor, X).inputs == expected
    assert infer_signature(load_model(save_model(tensor)), X).outputs == (
        ColumnSpec("score", "float"),
        ColumnSpec("label", "bool"),
    )


def test_missing_onnxruntime(logistic, frame, monkeypatch):
    X, _ = frame
    saved = save_model(to_onnx(logistic, X.to_numpy(np.float32)[:1]))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(
        MissingExtraError,
        match=r"^Loading an ONNX model needs the 'onnxruntime' package, which is not installed; "
        r"install it with: pip install 'modelyard\[onnx\]'$",
    ):
        load_model(saved)


def test_missing_onnx(logistic, frame, monkeypatch):
    X, _ = frame
    proto = to_onnx(logistic, X.to_numpy(np.float32)[:1])
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'modelyard\[onnx\]'"):
        save_model(proto)
