"""request_frame builds the frame pandas builds: same columns, dtypes, values and index, for
every kind of JSON column (and the Python values the API may pass)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.serve._frame import request_frame
from modelyard.serve._validate import Rows, concat_rows

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["Yes", "No", "No internet service", ""]),
)


def assert_same_frame(columns: dict[str, list[Any]], n: int) -> None:
    expected = pd.DataFrame(columns)
    got = request_frame(columns, n)
    pd.testing.assert_frame_equal(got, expected, check_dtype=True, check_index_type=True, check_column_type=True)
    assert [type(got[c].array) for c in got.columns] == [type(expected[c].array) for c in expected.columns]


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=6))
def test_same_frame_as_pandas_on_generated_columns(data: st.DataObject, n: int, width: int) -> None:
    columns: dict[str, list[Any]] = {}
    for i in range(width):
        one_kind = data.draw(st.booleans())
        if one_kind:
            kind = data.draw(st.sampled_from([int, float, str]))
            strategy = {
                int: st.integers(min_value=-(2**64), max_value=2**64),
                float: st.floats(),
                str: st.text(max_size=5),
            }[kind]
            columns[f"f{i}"] = data.draw(st.lists(strategy, min_size=n, max_size=n))
        else:
            columns[f"f{i}"] = data.draw(st.lists(JSON_SCALARS, min_size=n, max_size=n))
    assert_same_frame(columns, n)


@pytest.mark.parametrize(
    "values",
    [
        [None],
        [None, None],
        [1.5, None],
        [1, None],
        [True, False],
        [True, 1],
        ["a", None],
        [2**63],
        [2**64],
        [-(2**63)],
        [1, 2.5],
        [[1, 2]],
        [{"a": 1}],
        ["a", 1],
        [float("nan")],
        [np.int64(3)],
    ],
)
def test_same_frame_as_pandas_on_mixed_and_odd_columns(values: list[Any]) -> None:
    assert_same_frame({"x": values, "name": ["c"] * len(values), "k": [1] * len(values)}, len(values))


def test_same_frame_for_the_churn_request_and_batches() -> None:
    record = {
        "customer_id": "0001-A",
        "female": 1,
        "tenure": 0,
        "contract": "Month-to-month",
        "monthly_charges": 29.85,
        "total_charges": None,
    }
    other = {**record, "customer_id": "0002-B", "total_charges": 100.5}
    for records in ([record], [record, other], [other] * 40):
        rows = Rows.from_records(records)
        assert_same_frame(rows.columns, rows.n)
    batch = concat_rows([Rows.from_records([record]), Rows.from_records([{"tenure": 3}])])
    expected = pd.DataFrame({k: [v, 3 if k == "tenure" else None] for k, v in record.items()})
    pd.testing.assert_frame_equal(batch, expected)


def test_edge_shapes_are_pandas_own() -> None:
    assert_same_frame({}, 0)
    assert request_frame({}, 1).shape == pd.DataFrame({}).shape
    with pytest.raises(ValueError, match="same length"):  # pandas' own error, not a corrupt frame
        request_frame({"a": [1, 2], "b": [1]}, 2)


def test_labels_other_than_text_are_pandas_own() -> None:
    """From the Python API: pandas makes a RangeIndex of 0, 1, ...; and 1 == True must not share labels."""
    assert_same_frame({0: [1], 1: [2.5]}, 1)
    assert_same_frame({1: [1]}, 1)
    assert_same_frame({True: [1]}, 1)
    assert_same_frame({"a": [1], 2: ["x"]}, 1)


def test_frames_do_not_share_values_or_labels_between_requests() -> None:
    first = request_frame({"a": [1], "s": ["x"]}, 1)
    second = request_frame({"a": [1], "s": ["x"]}, 1)
    first.loc[0, "a"] = 7
    first.columns.name = "renamed by feature code"
    assert request_frame({"a": [1], "s": ["x"]}, 1).columns.name is None
    first.columns = ["c", "d"]
    assert second.loc[0, "a"] == 1
    assert list(second.columns) == ["a", "s"]
    assert list(request_frame({"a": [2], "s": ["y"]}, 1).columns) == ["a", "s"]
