"""Inconsistent request bodies through the protocol parsers: each is a 400 that names the field and the fix."""

from __future__ import annotations

import re
import struct
from typing import Any

import orjson
import pytest

from modelyard._exceptions import ModelyardError
from modelyard.serve._errors import BadRequestError
from modelyard.serve._protocols import MLFLOW, encode_error, parse_mlflow, parse_oip


def tensor(name: str, datatype: str, data: Any = None, shape: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    size = len(data) if isinstance(data, list) else 1
    out = {"name": name, "shape": shape or [size], "datatype": datatype, **extra}
    if data is not None:
        out["data"] = data
    return out


def oip(*inputs: dict[str, Any], **top: Any) -> bytes:
    return orjson.dumps({"inputs": list(inputs), **top})


def binary(*inputs: tuple[dict[str, Any], bytes], header: str | None = None) -> tuple[bytes, str]:
    """A binary-extension body: the JSON header, then each input's bytes; and the header length to send."""
    head = oip(*(t for t, _ in inputs))
    return head + b"".join(raw for _, raw in inputs), header if header is not None else str(len(head))


def refused(message: str, body: bytes, header: str | None = None) -> None:
    with pytest.raises(BadRequestError, match=re.escape(message)) as caught:
        parse_oip(body, header)
    assert caught.value.http_status == 400


def prefixed(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


# -- 1. OIP JSON data must fit its declared datatype ------------------------------------


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        (
            "FP64",
            ["Month-to-month"],
            "Input 'x': datatype FP64, but data[0] is a string (\"Month-to-month\"); send numbers or declare BYTES",
        ),
        (
            "BOOL",
            [3],
            "Input 'x': datatype BOOL, but data[0] is a number (3); send booleans (true/false) or declare INT64",
        ),
        ("BYTES", [1, 2], "Input 'x': datatype BYTES, but data[0] is a number (1); send strings or declare INT64"),
        ("BYTES", ["a", 2.5], "Input 'x': datatype BYTES, but data[1] is a number (2.5); send strings or declare FP64"),
        (
            "INT64",
            [1, True],
            "Input 'x': datatype INT64, but data[1] is a boolean (true); send integers or declare BOOL",
        ),
        (
            "INT32",
            [1, 2.5],
            "Input 'x': datatype INT32, but data[1] is a number with a fraction (2.5); send integers or declare FP64",
        ),
        ("UINT8", ["3"], "Input 'x': datatype UINT8, but data[0] is a string (\"3\"); send integers or declare BYTES"),
        (
            "FP32",
            [1.5, False],
            "Input 'x': datatype FP32, but data[1] is a boolean (false); send numbers or declare BOOL",
        ),
        ("BOOL", [True, "yes"], "Input 'x': datatype BOOL, but data[1] is a string (\"yes\"); send booleans"),
        ("BYTES", ["a", {"b": 1}], "Input 'x': datatype BYTES, but data[1] is an object; send strings, one value per"),
        (
            "FP64",
            [1.0, [2.0, 3.0]],
            "Input 'x': datatype FP64, but data[1] is a list of 2; send numbers, one value per",
        ),
    ],
)
def test_oip_json_data_that_does_not_fit_its_datatype_is_refused(datatype: str, data: list[Any], message: str) -> None:
    refused(message, oip(tensor("x", datatype, data)))


def test_oip_datatype_mismatch_names_the_input_among_good_ones() -> None:
    body = oip(tensor("tenure", "INT64", [3]), tensor("contract", "FP64", ["Month-to-month"]))
    refused("Input 'contract': datatype FP64, but data[0] is a string", body)


def test_oip_datatype_message_shortens_a_long_value() -> None:
    with pytest.raises(
        BadRequestError, match=r'is a string \("x{40}"\.\.\. \(10,000 characters\)\); send numbers'
    ) as caught:
        parse_oip(oip(tensor("x", "FP64", ["x" * 10_000])), None)
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("BYTES", ["Two year", None, ""]),
        ("BOOL", [True, None, False]),
        ("INT64", [1, None, -3, 2**40]),
        ("INT64", [3.0]),  # an integral float is an integer
        ("UINT16", [0, 7.0, None]),
        ("FP64", [1, 2.5, None]),  # ints are numbers; null is left to the spec
        ("FP16", [0.5]),
        ("FP64", [None]),
    ],
)
def test_oip_json_data_that_fits_its_datatype_is_kept_as_sent(datatype: str, data: list[Any]) -> None:
    rows, _, _ = parse_oip(oip(tensor("x", datatype, data)), None)
    assert rows.columns == {"x": data} and rows.n == len(data)


def test_oip_rows_by_one_column_data_is_flattened_then_checked() -> None:
    rows, _, _ = parse_oip(oip(tensor("x", "INT64", [[1], [2]], shape=[2, 1])), None)
    assert rows.columns == {"x": [1, 2]}
    refused(
        "Input 'x': datatype INT64, but data[1] is a string (\"2\")", oip(tensor("x", "INT64", [[1], ["2"]], [2, 1]))
    )


@pytest.mark.parametrize("datatype", ["INT128", "float64", "", None, ["FP64"], {"t": "FP64"}, 64])
def test_oip_unknown_datatype_is_refused(datatype: Any) -> None:
    refused("Input 'x': datatype must be one of ['BOOL', 'BYTES', 'FP16', ", oip(tensor("x", datatype, [1])))


# -- 2. OIP binary BYTES: length prefixes, UTF-8 and the element count ------------------


def test_oip_binary_bytes_decodes_utf8_elements() -> None:
    raw = prefixed(b"Two year", "Müller".encode(), b"")
    body, header = binary((tensor("x", "BYTES", shape=[3], parameters={"binary_data_size": len(raw)}), raw))
    rows, _, _ = parse_oip(body, header)
    assert rows.columns == {"x": ["Two year", "Müller", ""]}


@pytest.mark.parametrize(
    ("raw", "count", "message"),
    [
        (
            b"\xe8\x03\x00\x00Two year",
            1,
            "Input 'x': BYTES element 0 has a length prefix of 1000 bytes, but only 8 remain in its binary data; "
            "make each prefix the element's length in bytes",
        ),
        (
            prefixed(b"ok") + b"\x09\x00\x00\x00Two year",
            2,
            "Input 'x': BYTES element 1 has a length prefix of 9 bytes, but only 8 remain",
        ),
        (prefixed(b"ok") + b"\x08\x00", 2, "Input 'x': BYTES element 1 has 2 bytes left for its 4-byte length prefix"),
        (
            prefixed(b"ok", b"caf\xe9s"),
            2,
            "Input 'x': BYTES element 1 is not valid UTF-8 (invalid continuation byte at byte 3); "
            "send text encoded as UTF-8",
        ),
        (prefixed(b"\xff"), 1, "Input 'x': BYTES element 0 is not valid UTF-8"),
        (
            prefixed(b"a", b"b"),
            1,
            "Input 'x': shape holds 1 values, but its BYTES binary data has 2 elements; "
            "send one length-prefixed element per value",
        ),
        (prefixed(b"a"), 2, "Input 'x': shape holds 2 values, but its BYTES binary data has 1 elements"),
    ],
)
def test_oip_inconsistent_binary_bytes_is_refused(raw: bytes, count: int, message: str) -> None:
    body, header = binary((tensor("x", "BYTES", shape=[count], parameters={"binary_data_size": len(raw)}), raw))
    refused(message, body, header)


# -- 3. binary extension sizes ----------------------------------------------------------


@pytest.mark.parametrize(("size", "shown"), [(-1, "-1"), ("8", '"8"'), (8.0, "8.0"), (True, "true"), ([8], "[8]")])
def test_oip_binary_data_size_must_be_a_non_negative_integer(size: Any, shown: str) -> None:
    raw = struct.pack("<q", 5)
    body, header = binary((tensor("x", "INT64", shape=[1], parameters={"binary_data_size": size}), raw))
    refused(f"Input 'x': parameters.binary_data_size must be a non-negative integer. Got {shown} instead", body, header)


def test_oip_binary_data_size_past_the_binary_data_says_how_much_remains() -> None:
    raw = struct.pack("<q", 5)
    first = tensor("a", "INT64", shape=[1], parameters={"binary_data_size": 8})
    second = tensor("b", "INT64", shape=[1], parameters={"binary_data_size": 8})
    body, header = binary((first, raw), (second, raw[:3]))
    refused(
        "Input 'b': parameters.binary_data_size is 8, but only 3 bytes of binary data remain after the JSON header; "
        "make it the input's size in bytes",
        body,
        header,
    )


def test_oip_binary_data_size_without_binary_data_names_the_header() -> None:
    body = oip(tensor("x", "INT64", shape=[1], parameters={"binary_data_size": 8}))
    refused(
        "Input 'x': parameters.binary_data_size is 8, but the request has no binary data; "
        "send the Inference-Header-Content-Length header",
        body,
    )


@pytest.mark.parametrize("header", ["-1", "abc", "1.5", "", "+12", "1_0", "١٢"])
def test_oip_inference_header_content_length_must_be_a_non_negative_integer(header: str) -> None:
    refused(
        "Inference-Header-Content-Length must be a non-negative integer (the JSON header's size in bytes). "
        f"Got {header!r} instead",
        oip(tensor("x", "INT64", [1])),
        header,
    )


def test_oip_inference_header_content_length_past_the_body_is_refused() -> None:
    body = oip(tensor("x", "INT64", [1]))
    refused(f"Inference-Header-Content-Length is {len(body) + 1}, but the body has only", body, str(len(body) + 1))


def test_oip_binary_tensors_of_fixed_size_still_decode() -> None:
    raw_a, raw_b = struct.pack("<2q", 1, 2), struct.pack("<2d", 0.5, 1.5)
    body, header = binary(
        (tensor("a", "INT64", shape=[2], parameters={"binary_data_size": 16}), raw_a),
        (tensor("b", "FP64", shape=[2], parameters={"binary_data_size": 16}), raw_b),
    )
    rows, _, _ = parse_oip(body, header)
    assert rows.columns == {"a": [1, 2], "b": [0.5, 1.5]} and rows.n == 2


# -- 4. MLflow dataframe_split and params -----------------------------------------------


def mlflow_refused(message: str, doc: Any) -> None:
    with pytest.raises(BadRequestError, match=re.escape(message)) as caught:
        parse_mlflow(doc)
    assert caught.value.http_status == 400


SPLIT = {"columns": ["tenure", "contract"], "data": [[3, "Two year"], [5, "One year"]]}


def test_mlflow_dataframe_split_with_a_matching_index_is_read() -> None:
    for index in ([0, 1], ["a", "b"], None):
        rows = parse_mlflow({"dataframe_split": {**SPLIT, "index": index}})
        assert rows.columns == {"tenure": [3, 5], "contract": ["Two year", "One year"]} and rows.n == 2


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([0], "dataframe_split.index has 1 entries, but data has 2 rows; send one index entry per row, or leave index"),
        ([0, 1, 2], "dataframe_split.index has 3 entries, but data has 2 rows"),
        ([], "dataframe_split.index has 0 entries, but data has 2 rows"),
        ("0,1", "dataframe_split.index must be a list with one entry per row. Got a string instead"),
        ({"0": 0}, "dataframe_split.index must be a list with one entry per row. Got an object instead"),
    ],
)
def test_mlflow_dataframe_split_index_must_have_one_entry_per_row(index: Any, message: str) -> None:
    mlflow_refused(message, {"dataframe_split": {**SPLIT, "index": index}})


@pytest.mark.parametrize("columns", [["tenure", "tenure"], ["tenure", "contract", "tenure"], [1, "1"]])
def test_mlflow_dataframe_split_refuses_a_column_given_twice(columns: list[Any]) -> None:
    twice = str(columns[-1])
    data = [[0] * len(columns)]
    mlflow_refused(
        f"Column {twice!r} is given twice in dataframe_split.columns; send each column once",
        {"dataframe_split": {"columns": columns, "data": data}},
    )


@pytest.mark.parametrize("key", ["colums", "dtype", "orient"])
def test_mlflow_dataframe_split_refuses_an_unknown_key(key: str) -> None:
    split = {"columns": ["tenure"], "data": [[1]], key: "x"}
    mlflow_refused(
        f"dataframe_split has an unknown key {key!r}; its keys are 'columns', 'data' and 'index'",
        {"dataframe_split": split},
    )


@pytest.mark.parametrize(("params", "kind"), [([], "a list of 0"), ("fast", "a string"), (1, "a number")])
def test_mlflow_params_must_be_an_object(params: Any, kind: str) -> None:
    mlflow_refused(
        f"'params' must be a JSON object of name: value. Got {kind} instead",
        {"dataframe_records": [{"tenure": 1}], "params": params},
    )


def test_mlflow_params_object_or_null_is_accepted() -> None:
    for params in ({"threshold": 0.3}, {}, None):
        assert parse_mlflow({"instances": [{"tenure": 1}], "params": params}).n == 1


# -- 5. OIP parameters and outputs ------------------------------------------------------


@pytest.mark.parametrize(("parameters", "kind"), [([], "a list of 0"), ("pd", "a string"), (True, "a boolean")])
def test_oip_parameters_must_be_objects(parameters: Any, kind: str) -> None:
    refused(
        f"'parameters' must be a JSON object of name: value. Got {kind} instead",
        oip(tensor("x", "INT64", [1]), parameters=parameters),
    )
    refused(
        f"Input 'x': parameters must be a JSON object of name: value. Got {kind} instead",
        oip(tensor("x", "INT64", [1], parameters=parameters)),
    )


def test_oip_outputs_named_twice_are_refused() -> None:
    outputs = [{"name": "score"}, {"name": "decision"}, {"name": "score"}]
    refused(
        "Output 'score' is given twice in 'outputs'; ask for each output once",
        oip(tensor("x", "INT64", [1]), outputs=outputs),
    )


def test_oip_extensions_and_null_parameters_are_accepted() -> None:
    body = oip(
        tensor("x", "INT64", [1], parameters=None),
        id="r1",
        parameters={"content_type": "pd"},
        outputs=[{"name": "score", "parameters": {"binary_data": False}}],
        sequence_id=7,  # an extension the spec allows
        priority={"level": 1},
    )
    rows, request_id, outputs = parse_oip(body, None)
    assert rows.columns == {"x": [1]} and request_id == "r1" and outputs == ["score"]


# -- errors on the wire -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (404, "RESOURCE_DOES_NOT_EXIST"),
        (405, "BAD_REQUEST"),
        (413, "BAD_REQUEST"),
        (415, "BAD_REQUEST"),
        (500, "INTERNAL_ERROR"),
        (503, "TEMPORARILY_UNAVAILABLE"),
    ],
)
def test_mlflow_error_codes_by_status(status: int, code: str) -> None:
    err = ModelyardError("m")
    err.http_status = status
    assert encode_error(MLFLOW, err) == {"error_code": code, "message": "m"}


@pytest.mark.parametrize(
    ("shape", "shown"), [("3", '"3"'), ([1.5], "[1.5]"), ([True], "[true]"), (None, "null"), ([], "[]")]
)
def test_oip_bad_shape_is_shown_as_json(shape: Any, shown: str) -> None:
    message = f"Input 'x': shape must be a list of non-negative integers. Got {shown} instead"
    refused(message, oip({**tensor("x", "INT64", [1]), "shape": shape}))
