"""Output adapters: parsed from the spec's plain data, applied to what models return, one exact line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard import UsageError
from modelyard.check import OutputAdapter, adapters_from_spec, apply_adapters


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"column": 1}, "adapter: {column: 1}"),
        ({"column": "proba"}, "adapter: {column: proba}"),
        ({"scale": 0.01}, "adapter: {scale: 0.01}"),
        ({"column": "proba", "scale": 0.01}, "adapter: {column: proba, scale: 0.01}"),
        ({"column": "Yes"}, "adapter: {column: 'Yes'}"),
    ],
)
def test_line_is_the_yaml_to_add(data: dict, line: str) -> None:
    adapter = OutputAdapter.from_dict("score", data)
    assert adapter.line() == line
    assert adapter.to_dict() == data


def test_applies_column_by_position_name_and_scale() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert OutputAdapter("score", column=1).apply(proba).tolist() == [0.1, 0.8]
    frame = pd.DataFrame({"label": [True, False], "proba": [70.0, 20.0]})
    assert OutputAdapter("score", column="proba", scale=0.01).apply(frame) == pytest.approx([0.7, 0.2])
    assert OutputAdapter("score", column=0).apply(frame).tolist() == [True, False]
    assert OutputAdapter("score", column="p").apply({"p": [0.5]}).tolist() == [0.5]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({}, "must set 'column' or 'scale'. Got neither instead."),
        ({"scale": 0}, "'scale' of output 'score' must be a number > 0. Got 0.0 instead."),
        ({"column": -1}, "must be a column name or a position >= 0. Got -1 instead."),
        ({"column": True}, "must be a column name or a position >= 0. Got True instead."),
        ({"colum": 1}, r"unknown keys \['colum'\]; allowed: column, scale"),
    ],
)
def test_bad_adapters_say_what_and_how(data: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        OutputAdapter.from_dict("score", data)


def test_a_column_the_output_lacks_is_named() -> None:
    with pytest.raises(UsageError, match=r"adapter column 'proba' is not in the model's output; it has \['p'\]"):
        OutputAdapter("score", column="proba").apply(pd.DataFrame({"p": [0.1]}))
    with pytest.raises(UsageError, match="use a position such as column: 1"):
        OutputAdapter("score", column="proba").apply(np.zeros((2, 2)))


def test_adapters_are_read_from_the_specs_plain_data() -> None:
    spec = {"outputs": [{"name": "score", "adapter": {"column": 1}}, {"name": "label"}]}
    adapters = adapters_from_spec(spec)
    assert adapters == {"score": OutputAdapter("score", column=1)}
    assert apply_adapters(np.array([[0.3, 0.7]]), adapters, "score").tolist() == [0.7]
    assert apply_adapters("raw", adapters, "label") == "raw"


def test_the_current_spec_declares_none(spec) -> None:  # type: ignore[no-untyped-def]
    assert adapters_from_spec(spec) == {}
