"""Inputs: the model's columns and the production sample against the spec, each difference named."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from modelyard.check import Status
from modelyard.check._contract import closest_name, data_checks, model_input_checks


def _row(rows, name):  # type: ignore[no-untyped-def]
    return next(r for r in rows if r.name == name)


def test_closest_name_ignores_case_and_separators() -> None:
    names = ["monthly_charges", "tenure", "total_charges"]
    assert closest_name("MonthlyCharges", names) == "monthly_charges"
    assert closest_name("tenur", names) == "tenure"
    assert closest_name("zzz", names) is None


def test_renamed_and_missing_model_columns(spec) -> None:  # type: ignore[no-untyped-def]
    reads = [*(n for n in spec.input_names if n != "monthly_charges"), "MonthlyCharges", "credit_score"]
    (row,) = model_input_checks(spec, reads, {})
    assert row.status == Status.FAIL
    assert "the model reads 'MonthlyCharges', which production calls 'monthly_charges'" in row.message
    assert "the model reads 'credit_score', which production does not send" in row.message
    assert "rename 'MonthlyCharges' to 'monthly_charges'" in row.fix
    assert row.details["renamed"] == {"MonthlyCharges": "monthly_charges"}


def test_unused_inputs_warn_and_training_types_are_compared(spec) -> None:  # type: ignore[no-untyped-def]
    rows = model_input_checks(spec, ["tenure", "contract"], {"tenure": "int", "contract": "float"})
    assert _row(rows, "model inputs").status == Status.WARN
    assert "ignores 17 input(s)" in _row(rows, "model inputs").message
    types = _row(rows, "model input types")
    assert types.status == Status.FAIL
    assert types.message == "'contract' was float in training, the spec says category"


def test_a_model_without_names_gets_the_spec_order(spec) -> None:  # type: ignore[no-untyped-def]
    (row,) = model_input_checks(spec, None, {})
    assert row.status == Status.PASS
    (row,) = model_input_checks(spec, None, {}, width=len(spec.input_names))
    assert row.status == Status.PASS
    (row,) = model_input_checks(spec, None, {}, width=3)
    assert row.status == Status.FAIL and row.measured == f"3 columns fitted, {len(spec.input_names)} sent"


def test_clean_sample_passes(spec, features: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    rows, valid = data_checks(spec, features)
    assert [r.status for r in rows] == [Status.PASS] * 3
    assert valid.all()


def test_missing_column_suggests_the_renamed_one(spec, features: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    frame = features.rename(columns={"monthly_charges": "monthly_charge"})
    rows, _ = data_checks(spec, frame)
    row = _row(rows, "data columns")
    assert row.status == Status.FAIL
    assert "'monthly_charges' is missing; the data has 'monthly_charge'" in row.message
    assert row.fix == "rename 'monthly_charge' to 'monthly_charges' in the feature code"


def test_wrong_types_are_named(spec, features: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    frame = features.assign(tenure=features["tenure"] + 0.5, contract=np.arange(len(features)))
    rows, valid = data_checks(spec, frame)
    row = _row(rows, "data types")
    assert row.status == Status.FAIL
    assert "'tenure' is float64 with fractions (e.g. " in row.message
    assert "'contract' is int64; the spec says category" in row.message
    assert not valid.any()


def test_out_of_range_nulls_and_categories_count_and_show_a_row(spec, features: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    frame = features.copy()
    frame.loc[[3, 7], "tenure"] = [-1, 500]
    frame.loc[5, "monthly_charges"] = np.nan
    frame.loc[9, "contract"] = "Three year"
    rows, valid = data_checks(spec, frame)
    row = _row(rows, "data values")
    assert row.status == Status.FAIL
    assert "'tenure': 2 row(s) outside [0, 120], e.g. row 3 (index 3): tenure=-1" in row.message
    assert "'monthly_charges': 1 row(s) are null but the input is not nullable, e.g. row 5" in row.message
    assert "'contract': 1 row(s) have values not in categories ('Three year'), e.g. row 9" in row.message
    assert row.measured == f"4 of {len(frame):,} rows rejected"
    assert valid.sum() == len(frame) - 4


@pytest.mark.parametrize(
    ("features", "refused"),
    [
        ("support_code:reversed_churn_features", None),
        ("support_code:fresh_index_churn_features", None),
        ("support_code:shifted", "returned rows with another index than its input in the data (e.g. 1000, not one"),
    ],
)
def test_the_sample_s_inputs_stay_with_their_rows(spec, raw_recent, features, refused, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The check pairs inputs with the sample's rows by position (examples name rows and keys)."""
    import support_code
    from modelyard.check._data import FeatureCodeError, build_inputs
    from modelyard.demo.features import churn_features

    monkeypatch.setattr(
        support_code, "shifted", lambda raw: churn_features(raw).set_axis(raw.index + 1000), raising=False
    )
    sample = raw_recent.sample(frac=1.0, random_state=5)
    use_case = spec.model_copy(update={"data": spec.data.model_copy(update={"features": features})})
    if refused is not None:
        with pytest.raises(FeatureCodeError, match=re.escape(refused)):
            build_inputs(use_case, sample)
        return
    out = build_inputs(use_case, sample)
    names = list(spec.input_names)
    assert out.index.equals(sample.index) and out[names].equals(churn_features(sample)[names])
