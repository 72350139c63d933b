"""The OpenAPI document says what each route answers: every status it sends, with its protocol's body.

The documented schemas are pinned here, then held against real answers of a live server, including the
ones fuzzing never reaches (200s that need valid rows, 413, and the 503s of a server with no production
version).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

from modelyard._exceptions import ModelyardError
from modelyard.serve import ServeSettings, create_app
from modelyard.serve._protocols import MLFLOW, OIP, PLAIN, encode_error

from .conftest import LiveServer

ADMIN = {"authorization": "Bearer s3cret"}
SCORING = {PLAIN: "/predict/{use_case}", MLFLOW: "/invocations", OIP: "/v2/models/{name}/infer"}


def answers(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return spec["paths"][path][method.lower()]["responses"]


def validator(spec: dict[str, Any], answer: dict[str, Any], media: str = "application/json") -> Draft202012Validator:
    """Validates a body against an answer's schema (its ``$ref``s resolve into the spec's components)."""
    return Draft202012Validator({**answer["content"][media]["schema"], "components": spec["components"]})


def component(spec: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def assert_documented(spec: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """``response`` is an answer the spec documents for ``method path``: status, content type, headers, body."""
    documented = answers(spec, method, path)
    where = f"{method} {path} answered {response.status_code} {response.text[:200]!r}"
    assert str(response.status_code) in documented, f"{where}: status not documented"
    answer = documented[str(response.status_code)]
    media = response.headers["content-type"].split(";")[0]
    assert media in answer["content"], f"{where}: {media} not documented"
    body = response.json() if media == "application/json" else response.text
    errors = [e.message for e in validator(spec, answer, media).iter_errors(body)]
    assert not errors, f"{where}: {errors}"
    for header in answer.get("headers", {}):
        assert header in response.headers, f"{where}: no {header} header"


def oip_body(rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    inputs = []
    for name, values in pd.DataFrame(rows).items():
        kind = values.dtype.kind
        datatype = "INT64" if kind in "iu" else "FP64" if kind == "f" else "BYTES"
        inputs.append({"name": name, "shape": [len(values)], "datatype": datatype, "data": values.tolist()})
    return {"inputs": inputs, **extra}


@pytest.fixture
def full_rows(raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with every value present (so each OIP column has one datatype)."""
    return [r for r in raw_rows if r["total_charges"] is not None][:3]


def test_predict_documents_200_and_each_error_in_modelyard_shape(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    documented = answers(spec, "POST", "/predict/{use_case}")
    assert {"200", "400", "404", "413", "500", "503"} <= set(documented)

    ok = component(spec, documented["200"])
    assert set(ok["required"]) == {"request_id", "use_case", "version", "role", "threshold", "predictions"}
    assert ok["properties"]["role"]["enum"] == ["production", "canary", "shadow"]
    row = spec["components"]["schemas"]["ScoredRow"]
    assert row["properties"]["score"]["type"] == "number" and row["properties"]["decision"]["type"] == "boolean"

    for status in ("400", "404", "413", "500", "503"):
        error = component(spec, documented[status])
        assert error["required"] == ["error"], status
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"type", "message"}
    assert "X-Request-Id" in documented["200"]["headers"] and "Retry-After" in documented["503"]["headers"]


@pytest.mark.parametrize("protocol", [PLAIN, MLFLOW, OIP])
def test_each_protocol_documents_the_error_body_its_encoder_sends(client: httpx.Client, protocol: str) -> None:
    spec = client.get("/openapi.json").json()
    documented = answers(spec, "POST", SCORING[protocol])
    for status in (400, 404, 413, 500, 503):
        exc = ModelyardError("What is wrong, the value, and the fix")
        exc.http_status = status
        for other, path in SCORING.items():  # its own schema takes it; the other protocols' schemas do not
            check = validator(spec, answers(spec, "POST", path)[str(status)])
            assert check.is_valid(encode_error(protocol, exc)) == (other == protocol), (protocol, other, status)
    assert documented["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        {PLAIN: "PlainError", MLFLOW: "MlflowError", OIP: "OipError"}[protocol]
    )


def test_text_routes_document_text_plain_only(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path, statuses in {"/ping": {"200", "503"}, "/health": {"200", "503"}, "/version": {"200"}}.items():
        documented = answers(spec, "GET", path)
        assert set(documented) == statuses, path
        assert all(set(a["content"]) == {"text/plain"} for a in documented.values()), path
    assert set(answers(spec, "GET", "/metrics")["200"]["content"]) == {"text/plain"}


def test_invocations_documents_its_use_case_query_parameter(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    (param,) = spec["paths"]["/invocations"]["post"]["parameters"]
    assert (param["name"], param["in"], param["required"]) == ("use_case", "query", False)


def test_every_answer_of_a_serving_server_is_documented(
    client: httpx.Client, raw_rows: list[dict[str, Any]], full_rows: list[dict[str, Any]]
) -> None:
    spec = client.get("/openapi.json").json()
    calls: list[tuple[str, str, str, int, dict[str, Any]]] = [
        ("POST", "/predict/{use_case}", "/predict/churn", 200, {"json": raw_rows[:3]}),
        ("POST", "/predict/{use_case}", "/predict/churn", 200, {"json": {"records": raw_rows[:1]}}),
        ("POST", "/predict/{use_case}", "/predict/nope", 404, {"json": raw_rows[:1]}),
        ("POST", "/predict/{use_case}", "/predict/churn", 400, {"content": b"{"}),
        ("POST", "/predict/{use_case}", "/predict/churn", 400, {"json": [{**raw_rows[0], "tenure": "long"}]}),
        ("POST", "/invocations", "/invocations", 200, {"json": {"dataframe_records": raw_rows[:2]}}),
        ("POST", "/invocations", "/invocations?use_case=nope", 404, {"json": {"instances": raw_rows[:1]}}),
        ("POST", "/invocations", "/invocations", 400, {"json": {"rows": raw_rows[:1]}}),
        ("POST", "/invocations", "/invocations", 415, {"content": b"a,b", "headers": {"content-type": "text/csv"}}),
        ("POST", "/v2/models/{name}/infer", "/v2/models/churn/infer", 200, {"json": oip_body(full_rows, id="a")}),
        (
            "POST",
            "/v2/models/{name}/infer",
            "/v2/models/churn/infer",
            200,
            {"json": oip_body(full_rows, outputs=[{"name": "decision"}])},
        ),
        ("POST", "/v2/models/{name}/infer", "/v2/models/nope/infer", 404, {"json": oip_body(full_rows)}),
        ("POST", "/v2/models/{name}/infer", "/v2/models/churn/infer", 400, {"json": {"inputs": []}}),
        (
            "POST",
            "/v2/models/{name}/versions/{version}/infer",
            "/v2/models/churn/versions/2/infer",
            200,
            {"json": oip_body(full_rows)},
        ),
        (
            "POST",
            "/v2/models/{name}/versions/{version}/infer",
            "/v2/models/churn/versions/9/infer",
            404,
            {"json": oip_body(full_rows)},
        ),
        ("GET", "/v2", "/v2", 200, {}),
        ("GET", "/v2/health/live", "/v2/health/live", 200, {}),
        ("GET", "/v2/health/ready", "/v2/health/ready", 200, {}),
        ("GET", "/v2/models/{name}", "/v2/models/churn", 200, {}),
        ("GET", "/v2/models/{name}", "/v2/models/nope", 404, {}),
        ("GET", "/v2/models/{name}/versions/{version}", "/v2/models/churn/versions/v1", 200, {}),
        ("GET", "/v2/models/{name}/versions/{version}", "/v2/models/churn/versions/x", 400, {}),
        ("GET", "/v2/models/{name}/ready", "/v2/models/churn/ready", 200, {}),
        ("GET", "/v2/models/{name}/ready", "/v2/models/nope/ready", 404, {}),
        ("GET", "/v2/models/{name}/versions/{version}/ready", "/v2/models/churn/versions/2/ready", 200, {}),
        ("GET", "/v2/models/{name}/versions/{version}/ready", "/v2/models/churn/versions/9/ready", 404, {}),
        ("GET", "/ping", "/ping", 200, {}),
        ("GET", "/health", "/health", 200, {}),
        ("GET", "/version", "/version", 200, {}),
        ("GET", "/metrics", "/metrics", 200, {}),
        ("GET", "/models", "/models", 200, {}),
        ("POST", "/admin/reload", "/admin/reload", 200, {"headers": ADMIN}),
        ("POST", "/admin/reload", "/admin/reload", 401, {}),
        ("GET", "/admin/traffic", "/admin/traffic", 200, {"headers": ADMIN}),
        ("GET", "/admin/traffic", "/admin/traffic", 401, {"headers": {"authorization": "Bearer nope"}}),
        (
            "PUT",
            "/admin/traffic/{use_case}",
            "/admin/traffic/churn",
            200,
            {"headers": ADMIN, "json": {"canary_fraction": 0.2, "actor": "ana"}},
        ),
        ("PUT", "/admin/traffic/{use_case}", "/admin/traffic/churn", 400, {"headers": ADMIN, "json": {"x": 1}}),
        ("PUT", "/admin/traffic/{use_case}", "/admin/traffic/nope", 404, {"headers": ADMIN, "json": {}}),
    ]
    for method, path, url, status, kwargs in calls:
        response = client.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        assert_documented(spec, method, path, response)
    assert client.get("/admin/traffic", headers=ADMIN).json()["use_cases"][0]["set_by"] == "ana"


@pytest.fixture
def unready(yard_root: Path, sqlite_url: str, make_model: Any, tmp_path: Path) -> Iterator[httpx.Client]:
    """churn v1 in canary and nothing in production; bodies over 4,000 bytes refused."""
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=sqlite_url, author="tester")) as yard:
        v1 = yard.register("churn", make_model(1.0))
        yard.transition("churn", v1.version, "canary", reason="try", force=True, why="a test")
        settings = ServeSettings(log_folder=tmp_path / "predictions", max_body_bytes=4_000, gc_freeze=False)
        with LiveServer(create_app(yard, settings=settings)) as live, httpx.Client(base_url=live.url) as client:
            yield client


def test_503_and_413_answers_are_documented(
    unready: httpx.Client, raw_rows: list[dict[str, Any]], full_rows: list[dict[str, Any]]
) -> None:
    spec = unready.get("/openapi.json").json()
    big = raw_rows[:100]
    calls: list[tuple[str, str, str, int, dict[str, Any]]] = [
        ("POST", "/predict/{use_case}", "/predict/churn", 503, {"json": raw_rows[:1]}),
        ("POST", "/predict/{use_case}", "/predict/churn", 413, {"json": big}),
        ("POST", "/invocations", "/invocations", 503, {"json": {"dataframe_records": raw_rows[:1]}}),
        ("POST", "/invocations", "/invocations", 413, {"json": {"dataframe_records": big}}),
        ("POST", "/v2/models/{name}/infer", "/v2/models/churn/infer", 503, {"json": oip_body(full_rows[:1])}),
        ("POST", "/v2/models/{name}/infer", "/v2/models/churn/infer", 413, {"json": oip_body(big)}),
        ("GET", "/ping", "/ping", 503, {}),
        ("GET", "/health", "/health", 503, {}),
        ("GET", "/v2/health/ready", "/v2/health/ready", 503, {}),
        ("GET", "/v2/models/{name}/ready", "/v2/models/churn/ready", 503, {}),
        ("GET", "/v2/models/{name}/versions/{version}/ready", "/v2/models/churn/versions/1/ready", 200, {}),
    ]
    for method, path, url, status, kwargs in calls:
        response = unready.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        assert_documented(spec, method, path, response)
    assert unready.post("/invocations", json={"instances": raw_rows[:1]}).json()["error_code"] == (
        "TEMPORARILY_UNAVAILABLE"
    )


def test_no_route_documents_the_422_it_never_sends(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    statuses = {s for operations in spec["paths"].values() for op in operations.values() for s in op["responses"]}
    assert "422" not in statuses and "400" in statuses
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    # what FastAPI would have answered 422 for: a version that is not a number in a typed path
    answer = client.get("/v2/models/churn/versions/x")
    assert answer.status_code in (400, 404) and "error" in answer.json()
