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
from modelyard.serve._validate import Rows
from modelyard.spec import UseCase

__all__ = [
    "decode_json",
    "encode_error",
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
            f"{where} must be a JSON object or a non-empty list of objects. Got {_kind(value)} instead"
        )
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise BadRequestError(f"{where}[{i}] must be a JSON object of field: value. Got {_kind(record)} instead")
    return Rows.from_records(value)


def _kind(value: Any) -> str:
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
            f"The body must be a JSON object with one of {list(_MLFLOW_KEYS)}. Got {_kind(doc)} instead"
        )
    keys = [k for k in _MLFLOW_KEYS if k in doc]
    extra = [k for k in doc if k not in _MLFLOW_KEYS and k != "params"]
    if len(keys) != 1 or extra:
        raise BadRequestError(
            f"The body must have exactly one of {list(_MLFLOW_KEYS)} (and optionally 'params'). "
            f"Got keys {list(doc)} instead"
        )
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("columns"), list)
            or not isinstance(value.get("data"), list)
        ):
            raise BadRequestError(
                "dataframe_split must be {'columns': [names], 'data': [[row values], ...]}. "
                f"Got {_kind(value)} instead"
            )
        columns = value["columns"]
        width = len(columns)
        for i, row in enumerate(value["data"]):
            if not isinstance(row, list) or len(row) != width:
                raise BadRequestError(
                    f"dataframe_split.data[{i}] must be a list of {width} values (one per column). "
                    f"Got {_kind(row)} instead"
                )
        data = value["data"]
        if not data:
            raise BadRequestError("dataframe_split.data is empty; send at least one row")
        return Rows({str(c): [row[j] for row in data] for j, c in enumerate(columns)}, len(data))
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, "inputs")
    return _records(value, key)


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
    try:
        n = int(header_length)
    except ValueError:
        raise BadRequestError(
            f"Inference-Header-Content-Length must be an integer. Got {header_length!r} instead"
        ) from None
    if not 0 <= n <= len(body):
        raise BadRequestError(f"Inference-Header-Content-Length is {n}, but the body has only {len(body)} bytes")
    return body[:n], body[n:]


def _decode_binary(name: str, datatype: str, raw: bytes, count: int) -> list[Any]:
    if datatype == "BYTES":
        out: list[Any] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise BadRequestError(f"Input {name!r}: its BYTES binary data is truncated")
            (size,) = struct.unpack_from("<I", raw, pos)
            out.append(raw[pos + 4 : pos + 4 + size].decode("utf-8", errors="replace"))
            pos += 4 + size
        return out
    dtype = np.dtype(_OIP_NUMPY[datatype])
    if len(raw) != count * dtype.itemsize:
        raise BadRequestError(
            f"Input {name!r}: binary_data_size is {len(raw)} bytes, but shape and datatype {datatype} need "
            f"{count * dtype.itemsize}"
        )
    return np.frombuffer(raw, dtype=dtype).tolist()


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
        raise BadRequestError(f"'id' must be a string. Got {_kind(request_id)} instead")
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
            raise BadRequestError(f"{where}: shape must be a list of non-negative integers. Got {shape!r} instead")
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise BadRequestError(
                f"{where}: shape must be [rows] or [rows, 1]: one input per column. Got {shape} instead"
            )
        if datatype not in _OIP_NUMPY and datatype != "BYTES":
            raise BadRequestError(
                f"{where}: datatype must be one of {sorted([*_OIP_NUMPY, 'BYTES'])}. Got {datatype!r} instead"
            )
        count = math.prod(shape)
        params = tensor.get("parameters") or {}
        size = params.get("binary_data_size") if isinstance(params, dict) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise BadRequestError(f"{where}: binary_data_size {size!r} runs past the end of the body")
            data = _decode_binary(name, datatype, binary[offset : offset + size], count)
            offset += size
        else:
            data = tensor.get("data")
            if not isinstance(data, list):
                raise BadRequestError(f"{where}: data must be a list of {count} values. Got {_kind(data)} instead")
            if data and isinstance(data[0], list):
                data = [v for row in data for v in (row if isinstance(row, list) else [row])]
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
        code = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "BAD_REQUEST", 503: "TEMPORARILY_UNAVAILABLE"}
        return {"error_code": code.get(exc.http_status, "INTERNAL_ERROR"), "message": exc.message}
    return exc.to_dict()
