"""What each route of the model server answers, written down for the OpenAPI document only.

The routes send bodies that :mod:`modelyard.serve._protocols` builds as plain dicts and that
orjson renders; nothing here runs on a request. The pydantic models below only describe those
bodies (as named schemas in ``/docs``), and each ``*_RESPONSES`` table is a route's ``responses=``:
every status the route can send, with the body of its protocol. A test pins them
(``tests/serve/test_openapi.py``) and schemathesis checks real answers against them.

Error statuses, from the exception tree in :mod:`modelyard.serve._errors`:
400 a malformed body or one that breaks the spec, 404 an unknown use case or version,
413 a body over ``max_body_bytes``, 415 a compressed body (or, for MLflow, not JSON), 500 the model
failed to score, 503 no production version or a full queue (with ``Retry-After``), 401 a missing or
wrong admin token.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from modelyard.serve._request_body import ADMIN_BODY_BYTES

__all__ = [
    "ADMIN_RELOAD_RESPONSES",
    "ADMIN_SET_TRAFFIC_RESPONSES",
    "ADMIN_TRAFFIC_RESPONSES",
    "INVOCATIONS_QUERY",
    "METRICS_RESPONSES",
    "MLFLOW_RESPONSES",
    "MODELS_RESPONSES",
    "OIP_INFER_RESPONSES",
    "OIP_LIVE_RESPONSES",
    "OIP_MODEL_READY_RESPONSES",
    "OIP_MODEL_RESPONSES",
    "OIP_MODEL_VERSION_READY_RESPONSES",
    "OIP_READY_RESPONSES",
    "OIP_SERVER_RESPONSES",
    "PING_RESPONSES",
    "PLAIN_RESPONSES",
    "VERSION_RESPONSES",
]

Role = Literal["production", "canary", "shadow"]

# -- bodies ------------------------------------------------------------------------------


class ScoredRow(BaseModel):
    """One row's answer."""

    score: float = Field(description="The model's score, in [0, 1] for binary classification.")
    decision: bool = Field(description="score >= threshold.")


class PlainPrediction(BaseModel):
    """``POST /predict/{use_case}``: one answer per record, in the order sent."""

    request_id: str
    use_case: str
    version: int
    role: Role
    threshold: float
    predictions: list[ScoredRow]


class MlflowPrediction(BaseModel):
    """``POST /invocations``: MLflow's ``{"predictions": [...]}``, one per row."""

    predictions: list[ScoredRow]
    model_version: str
    role: Role
    request_id: str


class OipServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class OipLive(BaseModel):
    live: bool


class OipReady(BaseModel):
    ready: bool


class OipModelReady(BaseModel):
    name: str
    ready: bool


class OipTensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    parameters: dict[str, Any] | None = None


class OipModelMetadata(BaseModel):
    """One input tensor per field of the use case's spec (MLServer's ``pd`` content type)."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[OipTensorMetadata]
    outputs: list[OipTensorMetadata]
    parameters: dict[str, Any]


class OipOutputTensor(BaseModel):
    name: Literal["score", "decision"]
    datatype: Literal["FP64", "BOOL"]
    shape: list[int]
    data: list[float] | list[bool]


class OipInferParameters(BaseModel):
    request_id: str
    role: Role
    threshold: float


class OipInferResponse(BaseModel):
    """``id`` echoes the request's ``id`` (or is the server's request id); ``outputs`` are those asked for."""

    model_name: str
    model_version: str
    id: str
    parameters: OipInferParameters
    outputs: list[OipOutputTensor]


class DeploymentStatus(BaseModel):
    use_case: str
    production: int | None
    canary: int | None
    canary_fraction: float
    shadows: list[int]
    thresholds: dict[str, float]


class ServerStatus(BaseModel):
    """``GET /models``: what this worker serves, its GC pauses and its prediction log."""

    pid: int
    generation: int
    deployments: list[DeploymentStatus]
    gc: dict[str, float]
    log: dict[str, Any]


class ReloadResult(ServerStatus):
    changed: list[str] = Field(description="The use cases whose deployment changed.")


class TrafficSplitView(BaseModel):
    """A use case's canary share; ``set_by``, ``reason`` and ``set_at`` when it was set through the API."""

    use_case: str
    canary_version: int | None
    canary_fraction: float
    source: Literal["default", "set"]
    set_by: str | None = None
    reason: str | None = None
    set_at: str | None = None
    note: str | None = None


class TrafficSplits(BaseModel):
    default_canary_fraction: float
    use_cases: list[TrafficSplitView]


class ErrorDetail(BaseModel):
    type: str = Field(description="The exception class, e.g. DataError, NotFoundError.")
    message: str = Field(description="What is wrong, the value, and the fix.")


class PlainError(BaseModel):
    """modelyard's one error shape (plain protocol, ``/models``, admin)."""

    error: ErrorDetail


class MlflowError(BaseModel):
    """MLflow's error shape."""

    error_code: Literal["BAD_REQUEST", "RESOURCE_DOES_NOT_EXIST", "TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR"]
    message: str


class OipError(BaseModel):
    """The Open Inference Protocol's error shape."""

    error: str


# -- responses= tables -------------------------------------------------------------------


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


def _ok(model: type[BaseModel], description: str) -> dict[str, Any]:
    # FastAPI seeds every 200 with {"type": "string"} (the app's orjson JSONResponse is not FastAPI's
    # JSONResponse) and merges ours into it: this "type" replaces that one, the model's "$ref" lands beside it.
    return {**_json(model, description), "content": {"application/json": {"schema": {"type": "object"}}}}


def _scored(model: type[BaseModel], description: str) -> dict[str, Any]:
    """The 200 of a prediction route, which also names its request in a header."""
    request_id = {"description": "The request's id in the prediction log.", "schema": {"type": "string"}}
    return {**_ok(model, description), "headers": {"X-Request-Id": request_id}}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def _errors(
    model: type[BaseModel], described: dict[int, str], *, retry_after: bool = False
) -> dict[int | str, dict[str, Any]]:
    """Each status with its description, all with the protocol's error ``model``. ``retry_after``: the 503
    (no production version, or a full queue) carries a ``Retry-After`` header."""
    out: dict[int | str, dict[str, Any]] = {status: _json(model, text) for status, text in described.items()}
    if retry_after:
        out[503]["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
    return out


_BAD = "The body is not JSON, not the protocol's shape, or breaks the use case's spec (names field, value and fix)."
_NOT_FOUND = "The use case is not served here."
_NO_VERSION = "The model is not served here, or this version is not deployed."
_VERSION_RULE = "the version in the path is not a whole number from 1, such as 2 or v2."
_BAD_VERSION = _VERSION_RULE.capitalize()
_TOO_LARGE = "The body is over MODELYARD_SERVE_MAX_BODY_BYTES."
_COMPRESSED = "The body is compressed (Content-Encoding); send it uncompressed."
_FAILED = "The model failed to score valid rows."
_UNAVAILABLE = "The use case has no production version yet, or its queue is full."
_UNAUTHORIZED = "No admin token is set on the server, or Authorization: Bearer <token> is missing or wrong."
_STORE_DOWN = "The registry database cannot be reached."
_PREDICT_ERRORS = {400: _BAD, 404: _NOT_FOUND, 413: _TOO_LARGE, 415: _COMPRESSED, 500: _FAILED, 503: _UNAVAILABLE}

PLAIN_RESPONSES = {
    200: _scored(PlainPrediction, "A score and a decision per record."),
    **_errors(PlainError, _PREDICT_ERRORS, retry_after=True),
}
MLFLOW_RESPONSES = {
    200: _scored(MlflowPrediction, "A score and a decision per row."),
    **_errors(
        MlflowError,
        {
            **_PREDICT_ERRORS,
            400: _BAD + " Or no use case named on a server of many.",
            404: "The use case named by ?use_case is not served here.",
            415: _COMPRESSED + " Or a Content-Type other than application/json.",
        },
        retry_after=True,
    ),
}
# /invocations reads this query parameter by hand (MLflow's protocol has none), so FastAPI cannot see it.
INVOCATIONS_QUERY = {
    "name": "use_case",
    "in": "query",
    "required": False,
    "description": "Which use case scores; needed when the server serves several and has no default.",
    "schema": {"type": "string"},
}
MODELS_RESPONSES = {200: _ok(ServerStatus, "The deployments, GC pauses and prediction log of this worker.")}
PING_RESPONSES = {
    200: _text("Every use case has a production version loaded (the body is a newline)."),
    503: _text("Some use case has no production version yet (the body is a newline)."),
}
VERSION_RESPONSES = {200: _text("The modelyard version, e.g. 0.4.0.")}
METRICS_RESPONSES = {200: _text("Prometheus text exposition format.")}

OIP_SERVER_RESPONSES = {200: _ok(OipServerMetadata, "Server metadata.")}
OIP_LIVE_RESPONSES = {200: _ok(OipLive, "The server is up.")}
OIP_READY_RESPONSES = {
    200: _ok(OipReady, "Every model has a production version loaded."),
    503: _json(OipReady, "Some model has no production version yet."),
}
OIP_MODEL_RESPONSES = {
    200: _ok(OipModelMetadata, "The model's inputs (one per spec field) and outputs."),
    **_errors(OipError, {400: _BAD_VERSION, 404: _NO_VERSION}),
}
OIP_MODEL_READY_RESPONSES = {
    200: _ok(OipModelReady, "The model has a production version loaded."),
    503: _json(OipModelReady, "The model has no production version yet."),
    **_errors(OipError, {404: _NOT_FOUND}),
}
OIP_MODEL_VERSION_READY_RESPONSES = {
    200: _ok(OipModelReady, "This version is deployed (in production, canary or shadow)."),
    **_errors(OipError, {400: _BAD_VERSION, 404: _NO_VERSION}),
}
OIP_INFER_RESPONSES = {
    200: _scored(OipInferResponse, "The outputs score (FP64) and decision (BOOL), one value per row."),
    **_errors(OipError, {**_PREDICT_ERRORS, 400: f"{_BAD} Or {_VERSION_RULE}", 404: _NO_VERSION}, retry_after=True),
}

ADMIN_RELOAD_RESPONSES = {
    200: _ok(ReloadResult, "The registry was read; what each use case serves now."),
    **_errors(PlainError, {401: _UNAUTHORIZED, 503: _STORE_DOWN}),
}
ADMIN_TRAFFIC_RESPONSES = {
    200: _ok(TrafficSplits, "The canary share of each use case."),
    **_errors(PlainError, {401: _UNAUTHORIZED}),
}
ADMIN_SET_TRAFFIC_RESPONSES = {
    200: _ok(TrafficSplitView, "The split now in force; note says so when no canary is deployed yet."),
    **_errors(
        PlainError,
        {
            400: "The body is not {canary_fraction, reason?, actor?} with a fraction in [0, 1].",
            401: _UNAUTHORIZED,
            404: _NOT_FOUND,
            413: f"The body is over {ADMIN_BODY_BYTES // 1024} KiB.",
            415: _COMPRESSED,
            503: _STORE_DOWN,
        },
    ),
}
