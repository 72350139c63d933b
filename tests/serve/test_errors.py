"""Bad input gets a 4xx naming the field and the fix, in each protocol's error shape; never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from modelyard._exceptions import DataError, ModelyardError, NotFoundError
from modelyard.serve import BadRequestError, OverloadedError, PayloadTooLargeError
from modelyard.serve._protocols import encode_error


def test_error_shapes_are_pinned() -> None:
    exc = DataError("Field 'tenure' is missing")
    assert encode_error("plain", exc) == {"error": {"type": "DataError", "message": "Field 'tenure' is missing"}}
    assert encode_error("oip", exc) == {"error": "Field 'tenure' is missing"}
    assert encode_error("mlflow", exc) == {"error_code": "BAD_REQUEST", "message": "Field 'tenure' is missing"}
    assert encode_error("mlflow", NotFoundError("x"))["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_server_errors_are_in_the_one_tree() -> None:
    for cls, status in [(BadRequestError, 400), (PayloadTooLargeError, 413), (OverloadedError, 503)]:
        assert issubclass(cls, ModelyardError) and cls("m").http_status == status


def _plain(client: httpx.Client, body: Any, status: int, match: str, path: str = "/predict/churn") -> None:
    content = body if isinstance(body, bytes) else None
    r = client.post(path, content=content, json=None if content is not None else body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"type", "message"}
    assert match in error["message"], error["message"]


def test_bad_plain_requests(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    row = raw_rows[0]
    _plain(client, b"{not json", 400, "not valid JSON")
    _plain(client, b"", 400, "empty")
    _plain(client, 42, 400, "must be a JSON object or a non-empty list of objects. Got a number instead")
    _plain(client, [], 400, "non-empty list")
    _plain(client, [row, 3], 400, "The body[1] must be a JSON object")
    _plain(client, dict(row, tenure="three"), 400, "Field 'tenure' must be a number (int). Got \"three\" in row 0")
    _plain(client, dict(row, tenure=500), 400, "Field 'tenure' must be at most 120. Got 500 in row 0")
    _plain(client, dict(row, tenure=True), 400, "Field 'tenure' must be a number (int). Got true in row 0")
    _plain(client, dict(row, tenure=2.5), 400, "must be a whole number (int)")
    _plain(client, dict(row, contract="Lifetime"), 400, "Field 'contract' must be one of")
    _plain(client, dict(row, monthly_charges=None), 400, "Field 'monthly_charges' must not be null. Got null or")
    _plain(client, dict(row, favourite_colour="red"), 400, "Field 'favourite_colour' is not an input")
    missing = {k: v for k, v in row.items() if k != "tenure"}
    _plain(client, missing, 400, "Field 'tenure' is missing")
    _plain(client, [row, dict(row, tenure=-1)], 400, "Got -1 in row 1")
    _plain(client, b'{"tenure": NaN}', 400, "not valid JSON")
    _plain(client, row, 404, "Use case 'nope' is not served here", path="/predict/nope")


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    r = client.post("/predict/churn", content=b"[" + b"1," * 3_000_000 + b"1]")
    assert r.status_code == 413
    assert "limit" in r.json()["error"]["message"]


def test_bad_mlflow_requests(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    cases = [
        ({"dataframe_records": raw_rows[:1], "instances": raw_rows[:1]}, "exactly one of"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "dataframe_split.data[0] must be a list of 1"),
        ({"inputs": {"tenure": [1, 2], "contract": ["x"]}}, "all of one length"),
        ({"dataframe_records": [dict(raw_rows[0], tenure="x")]}, "Field 'tenure'"),
    ]
    for body, match in cases:
        r = client.post("/invocations", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == "BAD_REQUEST" and match in r.json()["message"]
    r = client.post("/invocations", content=b"x,y\n1,2", headers={"content-type": "text/csv"})
    assert r.status_code == 415 and "application/json" in r.json()["message"]
    assert r.json()["error_code"] == "BAD_REQUEST"
    r = client.post(  # media types are case-insensitive
        "/invocations",
        content=orjson.dumps({"dataframe_records": raw_rows[:1]}),
        headers={"content-type": "Application/JSON"},
    )
    assert r.status_code == 200, r.text


def test_bad_oip_requests(client: httpx.Client) -> None:
    cases = [
        ({"inputs": []}, 400, "one input per column"),
        ({"inputs": [{"name": "tenure", "shape": [2], "datatype": "INT64", "data": [1]}]}, 400, "holds 2 values"),
        ({"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT128", "data": [1]}]}, 400, "datatype must"),
        ({"inputs": [{"name": "tenure", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]}, 400, "[rows, 1]"),
        ({"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT64", "data": [1]}]}, 400, "missing"),
    ]
    for body, status, match in cases:
        r = client.post("/v2/models/churn/infer", json=body)
        assert r.status_code == status, r.text
        assert isinstance(r.json()["error"], str) and match in r.json()["error"]
    r = client.post("/v2/models/nope/infer", json=cases[-1][0])
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = client.post("/v2/models/churn/versions/9/infer", json=cases[-1][0])
    assert r.status_code == 404 and "Version 9 of use case 'churn' is not deployed" in r.json()["error"]


@pytest.mark.parametrize("version", ["abc", "1_0", "+1", "01", "0", "-1", "latest", "1.0", "v", "12345678901"])
def test_a_version_that_is_not_a_whole_number_is_a_400(client: httpx.Client, version: str) -> None:
    r = client.post(f"/v2/models/churn/versions/{version}/infer", json={"inputs": []})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == f"Model version must be a whole number from 1, such as 2 or v2. Got {version!r} instead"
    assert client.get(f"/v2/models/churn/versions/{version}/ready").status_code == 400


def test_a_version_may_be_written_v1(client: httpx.Client) -> None:
    assert client.get("/v2/models/churn/versions/v1/ready").json() == {"name": "churn", "ready": True}


def test_a_null_in_a_required_input_names_the_field_not_the_feature_codes_error(
    client: httpx.Client, raw_rows: list[dict[str, Any]]
) -> None:
    row = raw_rows[0]
    _plain(
        client,
        dict(row, tenure=None),
        400,
        "Field 'tenure' must not be null. Got null or missing in row 0 instead; send a value",
    )
    left_out = {k: v for k, v in row.items() if k != "tenure"}
    r = client.post("/predict/churn", json=[row, left_out])
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert message.startswith(
        "Field 'tenure' must not be null. Got null or missing in row 1 instead; send a value in every row"
    )
    assert "(the feature code modelyard.demo.features:churn_features failed on it: IntCastingNaNError: " in message
    r = client.post("/v2/models/churn/infer", json=_oip_body([dict(row, tenure=None)]))
    assert r.status_code == 400 and r.json()["error"].startswith("Field 'tenure' must not be null")


def _oip_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def datatype(value: Any) -> str:
        return "BYTES" if isinstance(value, str) else "FP64" if isinstance(value, float) else "INT64"

    return {
        "inputs": [
            {"name": k, "shape": [len(rows), 1], "datatype": datatype(v), "data": [r[k] for r in rows]}
            for k, v in rows[0].items()
            if v is not None or k != "total_charges"
        ]
    }


def test_unknown_routes_and_methods_use_the_error_shape(client: httpx.Client) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/predict/churn")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["error"]["message"] == "GET /predict/churn: Method Not Allowed; use POST"
    r = client.put("/invocations", json={})
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json() == {"error_code": "BAD_REQUEST", "message": "PUT /invocations: Method Not Allowed; use POST"}
    r = client.delete("/v2/models/churn/infer")
    assert r.status_code == 405 and r.json() == {"error": "DELETE /v2/models/churn/infer: Method Not Allowed; use POST"}


@pytest.mark.parametrize(
    "path",
    [
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/churn",
        "/ping",
        "/health",
        "/version",
        "/metrics",
        "/models",
    ],
)
def test_every_get_route_answers_head(client: httpx.Client, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]


def test_head_on_a_post_route_is_a_405_with_allow(client: httpx.Client) -> None:
    r = client.head("/predict/churn")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.content == b""


def test_names_of_use_cases_not_served_share_one_metrics_series(
    client: httpx.Client, raw_rows: list[dict[str, Any]]
) -> None:
    for i in range(20):
        assert client.post(f"/predict/made-up-{i}", json=raw_rows[0]).status_code == 404
        assert (
            client.post(f"/invocations?use_case=made-up-{i}", json={"dataframe_records": raw_rows[:1]}).status_code
            == 404
        )
    metrics = client.get("/metrics").text
    assert "made-up" not in metrics
    unknown = [
        line for line in metrics.splitlines() if line.startswith("modelyard_requests_total{") and "(unknown)" in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in unknown) == 40


@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b"[[]]", b'{"records": 5}', b'"text"', b"[{}]", b'[{"tenure": {"a": 1}}]', b"\xff\xfe"],
)
def test_odd_bodies_never_500(client: httpx.Client, body: bytes) -> None:
    for path in ("/predict/churn", "/invocations", "/v2/models/churn/infer"):
        r = client.post(path, content=body)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)


def test_admin_reload_needs_the_token(client: httpx.Client) -> None:
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"authorization": "Bearer wrong"}).status_code == 401
    r = client.post("/admin/reload", headers={"authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.json()["changed"] == []
