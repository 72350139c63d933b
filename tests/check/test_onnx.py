"""ONNX parity: conversion, row-level comparison with the original, whether ONNX may be served."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.check import Status
from modelyard.check._onnx import ONNX_TOLERANCE, OnnxConversion, convert_to_onnx, onnx_check
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


def test_the_demo_challenger_converts_with_its_categorical_splits(churn_frame) -> None:  # type: ignore[no-untyped-def]
    """The demo's HistGradientBoosting pipeline (OrdinalEncoder + passthrough) agrees row for row in ONNX.

    skl2onnx's own converter failed here (a Python bool in an int attribute, refused by protobuf 7)
    and, where it converted, read every categorical split as ``x <= 0``.
    """
    from modelyard.demo import build_challenger

    x, y = churn_frame
    model = build_challenger().set_params(model__max_iter=40).fit(x.iloc[:1500], y.iloc[:1500])
    trees = [tree for iteration in model[-1]._predictors for tree in iteration]
    assert any(tree.nodes["is_categorical"].any() for tree in trees)  # the splits this test is about
    frame = x.iloc[1500:].copy()
    frame.iloc[:20, frame.columns.get_loc("payment_method")] = "carrier pigeon"  # unknown: encoded -1
    frame.iloc[20:40, frame.columns.get_loc("total_charges")] = np.nan
    loaded = load_model(save_model(model))
    conversion = convert_to_onnx(loaded, frame)
    assert conversion.model is not None, conversion.reason
    assert conversion.tool.startswith("skl2onnx")
    row, measurements = onnx_check(conversion, frame, loaded.score(frame))
    assert row.status == Status.PASS, row.message
    assert measurements["onnx_max_abs_diff"] <= ONNX_TOLERANCE and measurements["onnx_servable"] == 1.0


def test_hist_gradient_boosting_regressor_with_categories_anywhere() -> None:
    """Categorical columns not first (the model reorders them inside), sparse codes, unknown and missing values."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    n = 1200
    x = pd.DataFrame(
        {
            "num": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "code": rng.choice([3.0, 7.0, 10.0, 12.0, np.nan], n),
            "many": rng.integers(0, 30, n).astype(float),
        }
    )
    y = np.nan_to_num(x["num"]) + x["code"].isin([3, 12]) * 1.5 - (x["many"] % 3 == 0) + rng.normal(size=n) * 0.1
    model = HistGradientBoostingRegressor(categorical_features=[1, 2], max_iter=40, random_state=0).fit(x, y)
    frame = x.iloc[:300].copy()
    frame.iloc[:10, 1] = 5.0  # a code never seen
    frame.iloc[10:20, 2] = -1.0  # negative: missing, to scikit-learn
    loaded = load_model(save_model(model, task="regression"))
    conversion = convert_to_onnx(loaded, frame)
    assert conversion.model is not None, conversion.reason
    row, measurements = onnx_check(conversion, frame, loaded.score(frame))
    assert row.status == Status.PASS, row.message
    assert measurements["onnx_max_abs_diff"] <= ONNX_TOLERANCE


@pytest.mark.parametrize("kind", ["LGBMClassifier", "LGBMRegressor"])
def test_a_pipeline_ending_in_lightgbm_converts(churn_frame, kind: str) -> None:  # type: ignore[no-untyped-def]
    """skl2onnx alone stopped at the LightGBM step (MissingShapeCalculator); with onnxmltools'
    converter registered the whole pipeline converts, and its rows agree."""
    lightgbm = pytest.importorskip("lightgbm")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from modelyard.demo.features import CATEGORICAL

    x, y = churn_frame
    numeric = [c for c in x.columns if c not in CATEGORICAL]
    front = ColumnTransformer(
        [
            ("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
            ("rest", "passthrough", numeric),
        ]
    )
    model = Pipeline([("columns", front), ("model", getattr(lightgbm, kind)(n_estimators=40, verbose=-1))])
    model.fit(x.iloc[:1500], y.iloc[:1500])
    frame = x.iloc[1500:].copy()
    frame.iloc[:20, frame.columns.get_loc("payment_method")] = "carrier pigeon"  # unknown: encoded -1
    task = "binary" if kind == "LGBMClassifier" else "regression"
    loaded = load_model(save_model(model, task=task))
    conversion = convert_to_onnx(loaded, frame)
    assert conversion.model is not None, conversion.reason
    assert "onnxmltools" in conversion.tool
    row, measurements = onnx_check(conversion, frame, loaded.score(frame))
    assert row.status == Status.PASS, row.message
    assert measurements["onnx_max_abs_diff"] <= ONNX_TOLERANCE
