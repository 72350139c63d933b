"""The wire protocols: bodies in, :class:`Rows` out; :class:`Prediction` in, bodies out.

* Open Inference Protocol v2 (KServe, Triton, MLServer): one input per column (MLServer's ``pd``
  content type), JSON or the binary tensor extension (``Inference-Header-Content-Length``);
  errors as ``{"error": "..."}``.
* MLflow scoring: ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``;
  errors as ``{"error_code", "message"}``.
* Plain: JSON records; errors in modelyard's one shape ``{"error": {"type", "message"}}``.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import orjson

from modelyard._exceptions import ModelyardError
from modelyard.serve._errors import BadRequestError
from modelyard.serve._service import Prediction
from modelyard.serve._validate import Rows, shown_as_json
from modelyard.spec import UseCase

__all__ = [
    "decode_json",
    "encode_error",
    "json_kind",
    "mlflow_response",
    "oip_metadata",
    "oip_response",
    "parse_mlflow",
    "parse_oip",
    "parse_plain",
    "plain_response",
]

PLAIN, OIP, MLFLOW = "plain", "oip", "mlflow"

_OIP_NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
_SPEC_TO_OIP = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
_NULL = type(None)
_INTEGERS = ("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64")
_JSON_TYPES: dict[str, tuple[frozenset[type], str]] = {
    "BYTES": (frozenset({str, _NULL}), "strings"),
    "BOOL": (frozenset({bool, _NULL}), "booleans (true/false)"),
    **dict.fromkeys(_INTEGERS, (frozenset({int, _NULL}), "integers")),
    **dict.fromkeys(("FP16", "FP32", "FP64"), (frozenset({int, float, _NULL}), "numbers")),
}
"""Per OIP datatype: the JSON value types its ``data`` may hold (null is left to the spec), and what to send."""
_DECLARE = {str: "BYTES", bool: "BOOL", int: "INT64", float: "FP64"}


def decode_json(body: bytes) -> Any:
    """Parse a JSON body, or say where it breaks."""
    if not body:
        raise BadRequestError("The request body is empty; send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}; send a JSON document") from None


def _records(value: Any, where: str) -> Rows:
    if isinstance(value, dict):
        return Rows.from_records([value])
    if not isinstance(value, list) or not value:
        raise BadRequestError(
            f"{where} must be a JSON object or a non-empty list of objects. Got {json_kind(value)} instead"
        )
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise BadRequestError(
                f"{where}[{i}] must be a JSON object of field: value. Got {json_kind(record)} instead"
            )
    return Rows.from_records(value)


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words: "an object", "a list of 3", "a number", "null"."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return {dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


# -- plain -------------------------------------------------------------------------------


def parse_plain(doc: Any) -> Rows:
    """``{...}`` (one record), ``[{...}, ...]`` or ``{"records": [...]}``."""
    if isinstance(doc, dict) and set(doc) == {"records"}:
        return _records(doc["records"], "records")
    return _records(doc, "The body")


def plain_response(pred: Prediction) -> dict[str, Any]:
    return {
        "request_id": pred.request_id,
        "use_case": pred.use_case,
        "version": pred.version,
        "role": pred.role,
        "threshold": pred.threshold,
        "predictions": pred.records(),
    }


# -- MLflow ------------------------------------------------------------------------------

_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_mlflow(doc: Any) -> Rows:
    """One of MLflow's four JSON input formats."""
    if not isinstance(doc, dict):
        raise BadRequestError(
            f"The body must be a JSON object with one of {list(_MLFLOW_KEYS)}. Got {json_kind(doc)} instead"
        )
    keys = [k for k in _MLFLOW_KEYS if k in doc]
    extra = [k for k in doc if k not in _MLFLOW_KEYS and k != "params"]
    if len(keys) != 1 or extra:
        raise BadRequestError(
            f"The body must have exactly one of {list(_MLFLOW_KEYS)} (and optionally 'params'). "
            f"Got keys {list(doc)} instead"
        )
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise BadRequestError(f"'params' must be a JSON object of name: value. Got {json_kind(params)} instead")
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        return _dataframe_split(value)
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, "inputs")
    return _records(value, key)


_SPLIT_KEYS = ("columns", "data", "index")


def _dataframe_split(value: Any) -> Rows:
    """``{"columns": [names], "data": [[row values], ...]}`` and, ignored, an ``index`` of one entry per row."""
    unknown = [k for k in value if k not in _SPLIT_KEYS] if isinstance(value, dict) else []
    if unknown:
        raise BadRequestError(
            f"dataframe_split has an unknown key {unknown[0]!r}; its keys are 'columns', 'data' and 'index'"
        )
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("columns"), list)
        or not isinstance(value.get("data"), list)
    ):
        raise BadRequestError(
            "dataframe_split must be {'columns': [names], 'data': [[row values], ...]}. "
            f"Got {json_kind(value)} instead"
        )
    names = [str(c) for c in value["columns"]]
    if len(set(names)) != len(names):
        twice = next(name for i, name in enumerate(names) if name in names[:i])
        raise BadRequestError(f"Column {twice!r} is given twice in dataframe_split.columns; send each column once")
    width = len(names)
    data = value["data"]
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise BadRequestError(
                f"dataframe_split.data[{i}] must be a list of {width} values (one per column). "
                f"Got {json_kind(row)} instead"
            )
    if not data:
        raise BadRequestError("dataframe_split.data is empty; send at least one row")
    index = value.get("index")
    if index is not None and not isinstance(index, list):
        raise BadRequestError(
            f"dataframe_split.index must be a list with one entry per row. Got {json_kind(index)} instead"
        )
    if index is not None and len(index) != len(data):
        raise BadRequestError(
            f"dataframe_split.index has {len(index)} entries, but data has {len(data)} rows; "
            "send one index entry per row, or leave index out"
        )
    return Rows({name: [row[j] for row in data] for j, name in enumerate(names)}, len(data))


def _columns(value: dict[str, Any], where: str) -> Rows:
    lengths = {k: len(v) if isinstance(v, list) else None for k, v in value.items()}
    sizes = {n for n in lengths.values()}
    if not value or None in sizes or len(sizes) != 1 or 0 in sizes:
        raise BadRequestError(
            f"{where} as columns must map each field to a non-empty list, all of one length. Got lengths {lengths}"
        )
    return Rows(dict(value), sizes.pop() or 0)


def mlflow_response(pred: Prediction) -> dict[str, Any]:
    return {
        "predictions": pred.records(),
        "model_version": str(pred.version),
        "role": pred.role,
        "request_id": pred.request_id,
    }


# -- Open Inference Protocol v2 ----------------------------------------------------------


def _split_binary(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not (header_length.isascii() and header_length.isdigit()):
        raise BadRequestError(
            "Inference-Header-Content-Length must be a non-negative integer (the JSON header's size in bytes). "
            f"Got {header_length!r} instead"
        )
    n = int(header_length)
    if n > len(body):
        raise BadRequestError(f"Inference-Header-Content-Length is {n}, but the body has only {len(body)} bytes")
    return body[:n], body[n:]


def _element(name: str, index: int) -> str:
    return f"Input {name!r}: BYTES element {index}"


def _decode_binary(name: str, datatype: str, raw: bytes, count: int) -> list[Any]:
    if datatype == "BYTES":
        out: list[Any] = []
        pos, end = 0, len(raw)
        while pos < end:
            if pos + 4 > end:
                raise BadRequestError(
                    f"{_element(name, len(out))} has {end - pos} bytes left for its 4-byte length prefix; "
                    "send each element as a 4-byte little-endian length, then that many bytes"
                )
            (size,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            if pos + size > end:
                raise BadRequestError(
                    f"{_element(name, len(out))} has a length prefix of {size} bytes, "
                    f"but only {end - pos} remain in its binary data; "
                    "make each prefix the element's length in bytes, and binary_data_size their total"
                )
            try:
                out.append(raw[pos : pos + size].decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise BadRequestError(
                    f"{_element(name, len(out))} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                    "send text encoded as UTF-8"
                ) from None
            pos += size
        if len(out) != count:
            raise BadRequestError(
                f"Input {name!r}: shape holds {count} values, but its BYTES binary data has {len(out)} elements; "
                "send one length-prefixed element per value"
            )
        return out
    dtype = np.dtype(_OIP_NUMPY[datatype])
    if len(raw) != count * dtype.itemsize:
        raise BadRequestError(
            f"Input {name!r}: binary_data_size is {len(raw)} bytes, but shape and datatype {datatype} need "
            f"{count * dtype.itemsize}"
        )
    return np.frombuffer(raw, dtype=dtype).tolist()


def _check_json_types(where: str, datatype: str, data: list[Any]) -> None:
    """Refuse the first value of ``data`` that does not fit ``datatype`` (called when the cheap check in
    :func:`parse_oip` fails): integral floats pass as integers."""
    accepts, wants = _JSON_TYPES[datatype]
    for i, value in enumerate(data):
        kind = type(value)
        if kind in accepts or (kind is float and int in accepts and value.is_integer()):
            continue  # an integral float (3.0) is an integer
        fraction = " with a fraction" if kind is float and int in accepts else ""
        shown = "" if kind in (list, dict) else f" ({shown_as_json(value, limit=40)})"
        declare = _DECLARE.get(kind)
        fix = f"send {wants} or declare {declare}" if declare else f"send {wants}, one value per element"
        raise BadRequestError(
            f"{where}: datatype {datatype}, but data[{i}] is {json_kind(value)}{fraction}{shown}; {fix}"
        )


def parse_oip(body: bytes, header_length: str | None) -> tuple[Rows, str | None, list[str] | None]:
    """An OIP v2 inference request: one input per column. Returns rows, the request ``id`` and the
    output names asked for (``None``: all)."""
    head, binary = _split_binary(body, header_length)
    doc = decode_json(head)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise BadRequestError(
            "The body must be an inference request {'inputs': [{'name', 'shape', 'datatype', 'data'}, ...]}, "
            "one input per column"
        )
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequestError(f"'id' must be a string. Got {json_kind(request_id)} instead")
    parameters = doc.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise BadRequestError(f"'parameters' must be a JSON object of name: value. Got {json_kind(parameters)} instead")
    columns: dict[str, list[Any]] = {}
    n_rows: int | None = None
    offset = 0
    for i, tensor in enumerate(doc["inputs"]):
        if not isinstance(tensor, dict):
            raise BadRequestError(f"inputs[{i}] must be an object {{'name', 'shape', 'datatype', 'data'}}")
        name = tensor.get("name")
        shape = tensor.get("shape")
        datatype = tensor.get("datatype")
        where = f"Input {name!r}" if isinstance(name, str) else f"inputs[{i}]"
        if not isinstance(name, str) or not name:
            raise BadRequestError(f"inputs[{i}].name must be the column's name (a string)")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise BadRequestError(
                f"{where}: shape must be a list of non-negative integers. Got {shown_as_json(shape)} instead"
            )
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise BadRequestError(
                f"{where}: shape must be [rows] or [rows, 1]: one input per column. Got {shape} instead"
            )
        if not isinstance(datatype, str) or datatype not in _JSON_TYPES:
            raise BadRequestError(
                f"{where}: datatype must be one of {sorted(_JSON_TYPES)}. Got {shown_as_json(datatype)} instead"
            )
        count = math.prod(shape)
        params = tensor.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise BadRequestError(
                f"{where}: parameters must be a JSON object of name: value. Got {json_kind(params)} instead"
            )
        size = params.get("binary_data_size") if params else None
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise BadRequestError(
                    f"{where}: parameters.binary_data_size must be a non-negative integer. "
                    f"Got {shown_as_json(size)} instead"
                )
            if offset + size > len(binary):
                raise BadRequestError(
                    f"{where}: parameters.binary_data_size is {size}, but "
                    + (
                        f"only {len(binary) - offset} bytes of binary data remain after the JSON header; "
                        "make it the input's size in bytes"
                        if header_length is not None
                        else "the request has no binary data; send the Inference-Header-Content-Length header "
                        "(the JSON header's size in bytes) and the tensors' bytes after the JSON"
                    )
                )
            data = _decode_binary(name, datatype, binary[offset : offset + size], count)
            offset += size
        else:
            data = tensor.get("data")
            if not isinstance(data, list):
                raise BadRequestError(f"{where}: data must be a list of {count} values. Got {json_kind(data)} instead")
            if data and isinstance(data[0], list):
                data = [v for row in data for v in (row if isinstance(row, list) else [row])]
            accepts = _JSON_TYPES[datatype][0]  # one pass over the value types; one row: one lookup
            if not (type(data[0]) in accepts if len(data) == 1 else set(map(type, data)) <= accepts):
                _check_json_types(where, datatype, data)
        if len(data) != count:
            raise BadRequestError(f"{where}: shape {shape} holds {count} values, but data has {len(data)}")
        if n_rows is None:
            n_rows = shape[0]
        elif shape[0] != n_rows:
            raise BadRequestError(
                f"{where} has {shape[0]} rows, but the first input has {n_rows}; every column needs the same rows"
            )
        if name in columns:
            raise BadRequestError(f"{where} is given twice; send each column once")
        columns[name] = data
    outputs = doc.get("outputs")
    names: list[str] | None = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
        ):
            raise BadRequestError("'outputs' must be a list of {'name': ...} objects")
        names = [o["name"] for o in outputs]
        twice = [n for i, n in enumerate(names) if n in names[:i]]
        if twice:
            raise BadRequestError(f"Output {twice[0]!r} is given twice in 'outputs'; ask for each output once")
        unknown = [n for n in names if n not in ("score", "decision")]
        if unknown:
            raise BadRequestError(f"Output {unknown[0]!r} does not exist; the outputs are 'score' and 'decision'")
    return Rows(columns, n_rows or 0), request_id, names


def oip_response(
    pred: Prediction, model_name: str, request_id: str | None, outputs: list[str] | None
) -> dict[str, Any]:
    n = len(pred.scores)
    tensors = {
        "score": {"name": "score", "datatype": "FP64", "shape": [n], "data": pred.scores.tolist()},
        "decision": {"name": "decision", "datatype": "BOOL", "shape": [n], "data": pred.decisions.tolist()},
    }
    return {
        "model_name": model_name,
        "model_version": str(pred.version),
        "id": request_id if request_id is not None else pred.request_id,
        "parameters": {"request_id": pred.request_id, "role": pred.role, "threshold": pred.threshold},
        "outputs": [tensors[name] for name in (outputs or ["score", "decision"])],
    }


def oip_metadata(use_case: UseCase, versions: list[int]) -> dict[str, Any]:
    """Model metadata: the spec's inputs as tensors, and the two outputs."""
    return {
        "name": use_case.name,
        "versions": [str(v) for v in versions],
        "platform": "modelyard",
        "inputs": [
            {
                "name": f.name,
                "datatype": _SPEC_TO_OIP.get(f.type, "BYTES"),
                "shape": [-1],
                "parameters": {"content_type": "np" if f.type in _SPEC_TO_OIP else "str"},
            }
            for f in use_case.inputs
        ],
        "outputs": [
            {"name": "score", "datatype": "FP64", "shape": [-1]},
            {"name": "decision", "datatype": "BOOL", "shape": [-1]},
        ],
        "parameters": {"content_type": "pd"},
    }


# -- errors ------------------------------------------------------------------------------


def encode_error(protocol: str, exc: ModelyardError) -> dict[str, Any]:
    """The error body each protocol's clients expect; modelyard's own shape for the rest."""
    if protocol == OIP:
        return {"error": exc.message}
    if protocol == MLFLOW:
        status = exc.http_status
        code = {404: "RESOURCE_DOES_NOT_EXIST", 503: "TEMPORARILY_UNAVAILABLE"}.get(status)
        return {
            "error_code": code or ("BAD_REQUEST" if 400 <= status < 500 else "INTERNAL_ERROR"),
            "message": exc.message,
        }
    return exc.to_dict()
