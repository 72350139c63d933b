"""A bad input value is quoted as the client wrote it in JSON (true, null, "text", 12), with its
field and the fix, in the error shape of each protocol: plain, MLflow and the Open Inference Protocol."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

NUMBER_FIX = "send a JSON number, not text or a boolean."
CASES: list[tuple[str, Any, str]] = [
    ("tenure", True, f"Field 'tenure' must be a number (int). Got true in row 0 instead; {NUMBER_FIX}"),
    (
        "monthly_charges",
        True,
        f"Field 'monthly_charges' must be a number (float). Got true in row 0 instead; {NUMBER_FIX}",
    ),
    ("tenure", "12", f"Field 'tenure' must be a number (int). Got \"12\" in row 0 instead; {NUMBER_FIX}"),
    (
        "monthly_charges",
        "abc",
        f"Field 'monthly_charges' must be a number (float). Got \"abc\" in row 0 instead; {NUMBER_FIX}",
    ),
    (
        "monthly_charges",
        None,
        "Field 'monthly_charges' must not be null. Got null or missing in row 0 instead; "
        "send a value, or mark the input nullable: true in the spec.",
    ),
    (
        "contract",
        None,
        "Field 'contract' must not be null. Got null or missing in row 0 instead; "
        "send a value, or mark the input nullable: true in the spec.",
    ),
    (
        "tenure",
        None,  # the feature code fails on it first; the message blames the null, then says so
        "Field 'tenure' must not be null. Got null or missing in row 0 instead; send a value in every row "
        "(the feature code modelyard.demo.features:churn_features failed on it: ",
    ),
    ("contract", False, "Field 'contract' must be a string. Got false in row 0 instead; send text in quotes."),
    (
        "contract",
        "Lifetime",
        'Field \'contract\' must be one of ["Month-to-month", "One year", "Two year"]. '
        'Got "Lifetime" in row 0 instead; send one of those values.',
    ),
]
IDS = [f"{field}={value!r}" for field, value, _ in CASES]

_OIP_TYPES = {bool: "BOOL", str: "BYTES", int: "INT64", float: "FP64"}
_SPEC_TYPES = {"tenure": "INT64", "monthly_charges": "FP64", "contract": "BYTES"}


def _oip_body(row: dict[str, Any]) -> dict[str, Any]:
    """One row as OIP inputs, each declared with its JSON value's datatype (a null: the spec's)."""
    return {
        "inputs": [
            {
                "name": k,
                "shape": [1],
                "datatype": _OIP_TYPES[type(v)] if v is not None else _SPEC_TYPES.get(k, "FP64"),
                "data": [v],
            }
            for k, v in row.items()
        ]
    }


def _check(message: str, expected: str) -> None:
    if expected.endswith(": "):  # the feature code's own error follows
        assert message.startswith(expected), message
    else:
        assert message == expected


@pytest.mark.parametrize(("field", "value", "expected"), CASES, ids=IDS)
def test_the_value_is_shown_as_json_on_every_protocol(
    client: httpx.Client, raw_rows: list[dict[str, Any]], field: str, value: Any, expected: str
) -> None:
    row = dict(raw_rows[0], **{field: value})

    r = client.post("/predict/churn", json=row)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "DataError" and set(error) == {"type", "message"}
    _check(error["message"], expected)

    for body in (
        {"dataframe_records": [row]},
        {"dataframe_split": {"columns": list(row), "data": [list(row.values())]}},
    ):
        r = client.post("/invocations", json=body)
        assert r.status_code == 400, r.text
        assert set(r.json()) == {"error_code", "message"} and r.json()["error_code"] == "BAD_REQUEST"
        _check(r.json()["message"], expected)

    r = client.post("/v2/models/churn/infer", json=_oip_body(row))
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"error"}
    _check(r.json()["error"], expected)


def test_a_field_left_out_of_one_record_reads_null_or_missing(
    client: httpx.Client, raw_rows: list[dict[str, Any]]
) -> None:
    left_out = {k: v for k, v in raw_rows[1].items() if k != "monthly_charges"}
    r = client.post("/predict/churn", json=[raw_rows[0], left_out])
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == (
        "Field 'monthly_charges' must not be null. Got null or missing in row 1 instead; "
        "send a value, or mark the input nullable: true in the spec."
    )


def test_oip_data_that_does_not_fit_its_datatype_is_shown_as_json(client: httpx.Client) -> None:
    body = {"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT64", "data": [True]}]}
    r = client.post("/v2/models/churn/infer", json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "Input 'tenure': datatype INT64, but data[0] is a boolean (true); send integers or declare BOOL"
    }
