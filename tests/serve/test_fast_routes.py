"""The scoring routes answered ahead of FastAPI: same answers as the documented routes, and a crash
inside one becomes a 500 in that protocol's error shape with no stack trace on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from modelyard.serve._fast_routes import FastRoutes, _compile, route_path

from .conftest import LiveServer


def test_path_parameters_are_one_segment_each() -> None:
    pattern = _compile("/v2/models/{name}/versions/{version}/infer")
    found = pattern.match("/v2/models/churn/versions/3/infer")
    assert found is not None and found.groupdict() == {"name": "churn", "version": "3"}
    assert pattern.match("/v2/models/churn/versions/3/infer/") is None
    assert pattern.match("/v2/models/a/b/versions/3/infer") is None
    assert _compile("/predict/{use_case}").match("/predict/") is None


def test_other_methods_and_paths_go_to_the_app() -> None:
    routes = FastRoutes(lambda protocol, exc: PlainTextResponse(exc.message, exc.http_status))

    async def handler(request: Request, params: dict[str, str]) -> Response:
        return PlainTextResponse(params["use_case"])

    routes.add("/predict/{use_case}", "plain", handler)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def scope(method: str, path: str) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}

    assert not asyncio.run(routes.answer(scope("GET", "/predict/churn"), receive, send))
    assert not asyncio.run(routes.answer(scope("POST", "/predict/churn/x"), receive, send))
    assert not asyncio.run(routes.answer({"type": "lifespan"}, receive, send))
    assert sent == []
    assert asyncio.run(routes.answer(scope("POST", "/predict/churn"), receive, send))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"churn"


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        ("/predict/churn", {"tenure": 1}, {"error"}),
        ("/invocations", {"dataframe_records": [{"tenure": 1}]}, {"error_code", "message"}),
        (
            "/v2/models/churn/infer",
            {"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT64", "data": [1]}]},
            {"error"},
        ),
    ],
)
def test_a_crash_is_a_500_in_the_protocols_shape_without_a_stack_trace(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, Any], shape: set[str]
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(live.service, "predict", broken)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 500
    assert set(answer.json()) == shape
    assert "Internal error (RuntimeError)" in answer.text
    assert "secret detail" not in answer.text and "Traceback" not in answer.text
    if path == "/invocations":
        assert answer.json()["error_code"] == "INTERNAL_ERROR"


def test_the_routes_see_the_path_without_the_root_path() -> None:
    assert route_path({"path": "/api/predict/churn", "root_path": "/api"}) == "/predict/churn"
    assert route_path({"path": "/api", "root_path": "/api"}) == "/"
    assert route_path({"path": "/predict/churn", "root_path": ""}) == "/predict/churn"
    assert route_path({"path": "/predict/churn"}) == "/predict/churn"
