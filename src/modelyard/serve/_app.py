"""The ASGI app: routes only. Each route parses its protocol, calls the service, encodes the answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

import modelyard
from modelyard._exceptions import ModelyardError, NotFoundError, UsageError
from modelyard._yard import Yard
from modelyard.serve._admin import add_admin_routes
from modelyard.serve._errors import BadRequestError, UnsupportedMediaTypeError
from modelyard.serve._fast_routes import FastRoutes, route_path
from modelyard.serve._openapi import (
    INVOCATIONS_QUERY,
    METRICS_RESPONSES,
    MLFLOW_RESPONSES,
    MODELS_RESPONSES,
    OIP_INFER_RESPONSES,
    OIP_LIVE_RESPONSES,
    OIP_MODEL_READY_RESPONSES,
    OIP_MODEL_RESPONSES,
    OIP_MODEL_VERSION_READY_RESPONSES,
    OIP_READY_RESPONSES,
    OIP_SERVER_RESPONSES,
    PING_RESPONSES,
    PLAIN_RESPONSES,
    VERSION_RESPONSES,
)
from modelyard.serve._protocols import (
    MLFLOW,
    OIP,
    PLAIN,
    decode_json,
    encode_error,
    mlflow_response,
    oip_metadata,
    oip_response,
    parse_mlflow,
    parse_oip,
    parse_plain,
    plain_response,
)
from modelyard.serve._request_body import read_body
from modelyard.serve._service import ModelService
from modelyard.serve._settings import ServeSettings

__all__ = ["create_app"]

_VERSION = getattr(modelyard, "__version__", "0")

_JSON_BODY = {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}
_RECORDS_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object", "description": "one record: {field: value}"},
                    {"type": "array", "items": {"type": "object"}, "minItems": 1},
                ]
            },
            "example": {"tenure": 3, "contract": "Month-to-month"},
        }
    },
    "required": True,
}


class JSONResponse(Response):
    """JSON rendered by orjson (numpy scalars and arrays included)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _error(protocol: str, exc: ModelyardError) -> Response:
    headers = dict(getattr(exc, "headers", {}))
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return JSONResponse(encode_error(protocol, exc), status_code=exc.http_status, headers=headers)


_VERSION_TEXT = re.compile(r"v?([1-9][0-9]{0,9})")


def _version(text: str | None) -> int | None:
    """The version number in a path (``2`` or ``v2``); a 400 for anything else (``int()`` would
    also take ``1_0``, ``+1`` and ``01``)."""
    if text is None:
        return None
    found = _VERSION_TEXT.fullmatch(text)
    if found is None:
        raise BadRequestError(f"Model version must be a whole number from 1, such as 2 or v2. Got {text!r} instead")
    return int(found.group(1))


def _protocol_of(scope: dict[str, Any]) -> str:
    """The protocol whose error shape a path's clients expect."""
    path = route_path(scope)
    return OIP if path.startswith("/v2") else MLFLOW if path == "/invocations" else PLAIN


_ASKED_METHOD = "modelyard.method"
"""Scope key: the method the client sent, when it is routed as another (HEAD as GET)."""


class ModelServerApp(FastAPI):
    """FastAPI, with the scoring routes answered first by :class:`FastRoutes` (see its module)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_routes = FastRoutes(_error)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            # HEAD is GET without the body: route it as GET (uvicorn, holding the original scope,
            # sends no body for it), so every GET route answers HEAD, as HTTP asks.
            scope = {**scope, "method": "GET", _ASKED_METHOD: "HEAD"}
        if not await self.fast_routes.answer(scope, receive, send):
            await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document without the 422 it adds to routes with parameters: this server answers a
        request FastAPI finds invalid with a 400 in the protocol's shape (``validation_error``)."""
        if self.openapi_schema is None:
            schema = super().openapi()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        return self.openapi_schema


def create_app(yard: Yard, *, settings: ServeSettings | None = None) -> FastAPI:
    """The model server as an ASGI app serving every use case of ``yard``."""
    settings = settings or ServeSettings()
    service = ModelService(yard, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = ModelServerApp(
        title="modelyard model server",
        version=_VERSION,
        description="Open Inference Protocol v2, MLflow scoring and plain JSON predictions for every use case.",
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.service = service

    async def guarded(protocol: str, work: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await work()
        except ModelyardError as exc:
            return _error(protocol, exc)

    # -- the scoring routes: one handler each, called by FastAPI's route and by the fast path --

    async def plain_predict(request: Request, params: dict[str, str]) -> Response:
        rows = parse_plain(decode_json(await read_body(request, settings.max_body_bytes)))
        pred = await service.predict(params["use_case"], rows, protocol=PLAIN)
        return JSONResponse(plain_response(pred), headers={"X-Request-Id": pred.request_id})

    async def mlflow_invocations(request: Request, params: dict[str, str]) -> Response:
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype.lower() not in ("application/json", ""):
            raise UnsupportedMediaTypeError(f"Content-Type must be application/json. Got {ctype!r} instead")
        rows = parse_mlflow(decode_json(await read_body(request, settings.max_body_bytes)))
        name = request.query_params.get("use_case") or settings.default_use_case
        if name is None:
            names = service.deployments.names()
            if len(names) != 1:
                raise BadRequestError(
                    f"This server serves {len(names)} use cases ({', '.join(names)}); name one with "
                    "?use_case=<name>, or set MODELYARD_SERVE_DEFAULT_USE_CASE"
                )
            name = names[0]
        pred = await service.predict(name, rows, protocol=MLFLOW)
        return JSONResponse(mlflow_response(pred), headers={"X-Request-Id": pred.request_id})

    async def oip_infer(request: Request, params: dict[str, str]) -> Response:
        name, version = params["name"], _version(params.get("version"))
        body = await read_body(request, settings.max_body_bytes)
        rows, request_id, outputs = parse_oip(body, request.headers.get("inference-header-content-length"))
        pred = await service.predict(name, rows, version=version, request_id=None, protocol=OIP)
        return JSONResponse(oip_response(pred, name, request_id, outputs), headers={"X-Request-Id": pred.request_id})

    fast = app.fast_routes
    fast.add("/predict/{use_case}", PLAIN, plain_predict)
    fast.add("/invocations", MLFLOW, mlflow_invocations)
    fast.add("/v2/models/{name}/infer", OIP, oip_infer)
    fast.add("/v2/models/{name}/versions/{version}/infer", OIP, oip_infer)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = NotFoundError if exc.status_code == 404 else UsageError
        method = request.scope.get(_ASKED_METHOD, request.method)
        allowed = (exc.headers or {}).get("Allow")
        fix = f"use {allowed.replace(', ', ' or ')}" if allowed else "see /docs for the routes"
        err = error(f"{method} {request.url.path}: {exc.detail}; {fix}")
        err.http_status = exc.status_code
        response = _error(_protocol_of(request.scope), err)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(PLAIN, BadRequestError(f"{where}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:  # no stack traces on the wire
        err = ModelyardError(f"Internal error ({type(exc).__name__}); the server log has the details")
        return _error(_protocol_of(request.scope), err)

    # -- plain ---------------------------------------------------------------------------

    @app.post(
        "/predict/{use_case}", tags=["plain"], responses=PLAIN_RESPONSES, openapi_extra={"requestBody": _RECORDS_BODY}
    )
    async def predict(use_case: str, request: Request) -> Any:
        """Score JSON records: one object, a list of objects, or ``{"records": [...]}``."""
        return await fast.respond(PLAIN, plain_predict, request, {"use_case": use_case})

    @app.get("/models", tags=["plain"], responses=MODELS_RESPONSES)
    async def models() -> Any:
        """What each use case serves now."""
        return service.status()

    # -- MLflow --------------------------------------------------------------------------

    @app.post(
        "/invocations",
        tags=["mlflow"],
        responses=MLFLOW_RESPONSES,
        openapi_extra={"requestBody": _JSON_BODY, "parameters": [INVOCATIONS_QUERY]},
    )
    async def invocations(request: Request) -> Any:
        """MLflow scoring: ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``."""
        return await fast.respond(MLFLOW, mlflow_invocations, request, {})

    @app.get("/ping", tags=["mlflow"], response_class=PlainTextResponse, responses=PING_RESPONSES)
    @app.get("/health", tags=["mlflow"], response_class=PlainTextResponse, responses=PING_RESPONSES)
    async def ping() -> Response:
        """200 when every use case has a production version loaded."""
        return PlainTextResponse("\n", status_code=200 if service.ready() else 503)

    @app.get("/version", tags=["mlflow"], response_class=PlainTextResponse, responses=VERSION_RESPONSES)
    async def version() -> Response:
        return PlainTextResponse(_VERSION)

    # -- Open Inference Protocol v2 ------------------------------------------------------

    @app.get("/v2", tags=["oip"], responses=OIP_SERVER_RESPONSES)
    async def v2_server() -> Any:
        return {"name": "modelyard", "version": _VERSION, "extensions": ["binary_tensor_data"]}

    @app.get("/v2/health/live", tags=["oip"], responses=OIP_LIVE_RESPONSES)
    async def v2_live() -> Any:
        return {"live": True}

    @app.get("/v2/health/ready", tags=["oip"], responses=OIP_READY_RESPONSES)
    async def v2_ready() -> Any:
        ready = service.ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    def _metadata(name: str, version: str | None) -> Any:
        deployment = service.deployments.get(name)
        v = _version(version)
        if v is not None:
            deployment.slot(v)
        return oip_metadata(deployment.use_case, [s.version for s in deployment.slots()])

    @app.get("/v2/models/{name}", tags=["oip"], responses=OIP_MODEL_RESPONSES)
    async def v2_model(name: str) -> Any:
        return await guarded(OIP, _async(lambda: _metadata(name, None)))

    @app.get("/v2/models/{name}/versions/{version}", tags=["oip"], responses=OIP_MODEL_RESPONSES)
    async def v2_model_version(name: str, version: str) -> Any:
        return await guarded(OIP, _async(lambda: _metadata(name, version)))

    def _ready(name: str, version: str | None) -> Any:
        deployment = service.deployments.get(name)
        v = _version(version)
        slot = deployment.slot(v) if v is not None else deployment.production
        ready = slot is not None
        return JSONResponse({"name": name, "ready": ready}, status_code=200 if ready else 503)

    @app.get("/v2/models/{name}/ready", tags=["oip"], responses=OIP_MODEL_READY_RESPONSES)
    async def v2_model_ready(name: str) -> Any:
        return await guarded(OIP, _async(lambda: _ready(name, None)))

    @app.get("/v2/models/{name}/versions/{version}/ready", tags=["oip"], responses=OIP_MODEL_VERSION_READY_RESPONSES)
    async def v2_model_version_ready(name: str, version: str) -> Any:
        return await guarded(OIP, _async(lambda: _ready(name, version)))

    @app.post(
        "/v2/models/{name}/infer",
        tags=["oip"],
        responses=OIP_INFER_RESPONSES,
        openapi_extra={"requestBody": _JSON_BODY},
    )
    async def v2_infer(name: str, request: Request) -> Any:
        """Inference: one input per column (``pd`` content type), outputs ``score`` and ``decision``."""
        return await fast.respond(OIP, oip_infer, request, {"name": name})

    @app.post(
        "/v2/models/{name}/versions/{version}/infer",
        tags=["oip"],
        responses=OIP_INFER_RESPONSES,
        openapi_extra={"requestBody": _JSON_BODY},
    )
    async def v2_infer_version(name: str, version: str, request: Request) -> Any:
        return await fast.respond(OIP, oip_infer, request, {"name": name, "version": version})

    # -- operations ----------------------------------------------------------------------

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, responses=METRICS_RESPONSES)
    async def metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, queue depth, GC pauses."""
        return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    add_admin_routes(app, service, guarded)  # /admin/reload, /admin/traffic

    return app


def _async(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return fn()

    return run
