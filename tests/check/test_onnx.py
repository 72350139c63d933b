"""ONNX parity: conversion, row-level comparison with the original, whether ONNX may be served."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.check import Status
from modelyard.check._onnx import OnnxConversion, convert_to_onnx, onnx_check
from modelyard.flavors import load_model, save_model

NUMERIC = ["tenure", "monthly_charges", "senior_citizen"]


def test_lightgbm_converts_with_onnxmltools(churn_frame) -> None:  # type: ignore[no-untyped-def]
    lightgbm = pytest.importorskip("lightgbm")
    x, y = churn_frame
    model = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1).fit(x[NUMERIC], y)
    loaded = load_model(save_model(model))
    frame = x[NUMERIC].iloc[:300]
    conversion = convert_to_onnx(loaded, frame)
    assert conversion.model is not None, conversion.reason
    assert conversion.tool.startswith("onnxmltools")
    row, measurements = onnx_check(conversion, frame, loaded.score(frame))
    assert row.status in (Status.PASS, Status.WARN)
    assert measurements["onnx_max_abs_diff"] < 0.05


def test_differing_rows_are_named_and_onnx_is_not_served(churn_frame) -> None:  # type: ignore[no-untyped-def]
    x, y = churn_frame
    from sklearn.linear_model import LogisticRegression

    frame = x[NUMERIC].iloc[:50]
    native = load_model(save_model(LogisticRegression().fit(x[NUMERIC], y)))
    conversion = convert_to_onnx(native, frame)
    assert conversion.model is not None, conversion.reason
    scores = native.score(frame)
    scores[[3, 17]] += 0.2  # as if two rows fell on the other side of a split
    row, measurements = onnx_check(conversion, frame, scores)
    assert row.status == Status.WARN
    assert "2 of 50 rows differ by more than 0.0001 (row 3 (index 3): " in row.message
    assert "row 17 (index 17)" in row.message and "Do not serve the ONNX form" in row.message
    assert measurements["onnx_servable"] == 0.0 and row.details["rows"] == [3, 17]


def test_python_functions_have_no_converter() -> None:
    row, measurements = onnx_check(
        OnnxConversion(None, None, "no ONNX converter for the python_function flavor"),
        pd.DataFrame({"a": [1]}),
        np.zeros(1),
    )
    assert row.status == Status.SKIP and measurements["onnx_servable"] == 0.0
