"""The admin traffic split: guarded by the token, validated, stored with who and why, applied by every worker."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from modelyard.serve import ServeSettings, create_app
from modelyard.serve._routing import canary_bucket
from modelyard.store import Store

from .conftest import LiveServer

ADMIN = {"authorization": "Bearer s3cret"}


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/traffic"), ("PUT", "/admin/traffic/churn"), ("POST", "/admin/reload")]
)
def test_admin_endpoints_need_the_token(client: httpx.Client, method: str, path: str) -> None:
    body = {"canary_fraction": 0.5}
    wrong = ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret!"}, {"authorization": "s3cret"})
    for headers in (*wrong, {"authorization": "Basic s3cret"}):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == 'Bearer realm="modelyard admin"'
        assert r.json()["error"]["message"] == "Missing or wrong admin token; send Authorization: Bearer <token>"
    assert client.get("/admin/traffic", headers=ADMIN).json()["use_cases"][0]["source"] == "default"
    assert client.get("/admin/traffic", headers={"authorization": "bearer  s3cret"}).status_code == 200  # any case


def test_admin_endpoints_are_off_without_a_token(serve_yard: Any, settings: ServeSettings) -> None:
    app = create_app(serve_yard, settings=settings.model_copy(update={"admin_token": None}))
    with LiveServer(app) as live, httpx.Client(base_url=live.url) as c:
        r = c.put("/admin/traffic/churn", json={"canary_fraction": 0.5}, headers=ADMIN)
    assert r.status_code == 401 and "set MODELYARD_SERVE_ADMIN_TOKEN" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"canary_fraction": 1.5}', 400, "Field 'canary_fraction' must be in [0, 1]. Got 1.5 instead"),
        (b'{"canary_fraction": -0.1}', 400, "Field 'canary_fraction' must be in [0, 1]. Got -0.1 instead"),
        (b'{"canary_fraction": "0.3"}', 400, "Field 'canary_fraction' must be a number in [0, 1]. Got \"0.3\" instead"),
        (b'{"canary_fraction": true}', 400, "Field 'canary_fraction' must be a number in [0, 1]. Got true instead"),
        (b'{"canary_fraction": null}', 400, "Field 'canary_fraction' must be a number in [0, 1]. Got null instead"),
        (b"{}", 400, "Field 'canary_fraction' is missing; send {\"canary_fraction\": 0.25}"),
        (b"[0.3]", 400, "The body must be a JSON object. Got a list of 1 instead"),
        (b'"0.3"', 400, "The body must be a JSON object. Got a string instead"),
        (b"null", 400, "The body must be a JSON object. Got null instead"),
        (b'{"canary_fraction": NaN}', 400, "The request body is not valid JSON"),
        (b"0.3", 400, "The body must be a JSON object. Got a number instead"),
        (b"", 400, "The request body is empty"),
        (b"{", 400, "The request body is not valid JSON"),
        (b'{"canary_fraction": 0.3, "fraction": 1}', 400, "Unknown field 'fraction'"),
        (b'{"canary_fraction": 0.3, "reason": 5}', 400, "Field 'reason' must be a string. Got 5 instead"),
        (
            b'{"canary_fraction": 0.3, "reason": "a\\u0000b"}',
            400,
            "Field 'reason' must not contain NUL characters. Got \"a\\u0000b\" instead",
        ),
        (b'{"canary_fraction": 0.3, "actor": "' + b"x" * 129 + b'"}', 400, "Field 'actor' must be at most 128"),
        (b'{"canary_fraction": 0.3, "reason": "' + b"x" * 2001 + b'"}', 400, "Field 'reason' must be at most 2,000"),
        (
            b'{"canary_fraction": 0.3, "reason": "' + b"x" * 70_000 + b'"}',
            413,
            "The request body is over the 65,536-byte",
        ),
    ],
)
def test_a_bad_split_is_a_400_naming_the_field(client: httpx.Client, body: bytes, status: int, message: str) -> None:
    r = client.put("/admin/traffic/churn", content=body, headers=ADMIN)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"].startswith(message), r.json()


def test_an_unknown_use_case_is_a_404(client: httpx.Client) -> None:
    r = client.put("/admin/traffic/fraud", json={"canary_fraction": 0.5}, headers=ADMIN)
    assert r.status_code == 404 and "Use case 'fraud' is not served here" in r.json()["error"]["message"]


def test_without_a_canary_the_split_is_stored_and_the_answer_says_so(client: httpx.Client, serve_yard: Any) -> None:
    r = client.put("/admin/traffic/churn", json={"canary_fraction": 0.4, "reason": "ready for v2"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["canary_fraction"], body["canary_version"], body["source"]) == (0.4, None, "set")
    assert body["note"].startswith("No canary is deployed for 'churn'; the fraction is stored")
    assert body["reason"] == "ready for v2" and body["set_by"] == "admin API (127.0.0.1)"
    view = client.get("/admin/traffic", headers=ADMIN).json()
    assert view["default_canary_fraction"] == 0.1
    assert view["use_cases"] == [{k: v for k, v in body.items() if k != "note"}]
    with serve_yard.store.reading() as conn:
        trail = Store.list_traffic_splits(conn, "churn")
    assert [(t["canary_fraction"], t["actor"], t["reason"], t["canary_version"]) for t in trail] == [
        (0.4, "admin API (127.0.0.1)", "ready for v2", None)
    ]


def test_the_canary_takes_the_new_fraction_sticky_by_customer(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]]
) -> None:
    serve_yard.transition("churn", 2, "canary", reason="try it")
    with LiveServer(create_app(serve_yard, settings=settings)) as live, httpx.Client(base_url=live.url) as c:
        r = c.put("/admin/traffic/churn", json={"canary_fraction": 0.3, "actor": "ana"}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["canary_version"] == 2 and "note" not in r.json()
        seen: dict[str, set[int]] = {}
        for row in raw_rows[:150] * 2:
            seen.setdefault(row["customer_id"], set()).add(c.post("/predict/churn", json=row).json()["version"])
        assert c.get("/models").json()["deployments"][0]["canary_fraction"] == 0.3
        c.put("/admin/traffic/churn", json={"canary_fraction": 0}, headers=ADMIN)
        after = {c.post("/predict/churn", json=row).json()["version"] for row in raw_rows[:40]}
    assert all(len(v) == 1 for v in seen.values())  # sticky
    assert {cid for cid, v in seen.items() if v == {2}} == {cid for cid in seen if canary_bucket("churn", cid) < 0.3}
    assert 0.15 < sum(v == {2} for v in seen.values()) / len(seen) < 0.45
    assert after == {1}


def test_a_split_reaches_every_worker_and_outlives_a_restart(serve_yard: Any, settings: ServeSettings) -> None:
    serve_yard.transition("churn", 2, "canary", reason="try it")
    with (
        LiveServer(create_app(serve_yard, settings=settings)) as one,
        LiveServer(create_app(serve_yard, settings=settings)) as two,
        httpx.Client(headers=ADMIN) as c,
    ):
        assert c.put(f"{one.url}/admin/traffic/churn", json={"canary_fraction": 0.6}).status_code == 200
        deadline = time.monotonic() + 5
        while two.service.deployments.get("churn").canary_fraction != 0.6:
            assert time.monotonic() < deadline, "the other worker never applied the split"
            time.sleep(0.05)
        assert c.get(f"{two.url}/admin/traffic").json()["use_cases"][0]["set_by"] == "admin API (127.0.0.1)"
    with LiveServer(create_app(serve_yard, settings=settings)) as restarted:
        assert restarted.service.deployments.get("churn").canary_fraction == 0.6


def test_a_split_does_not_carry_over_to_the_next_canary(serve_yard: Any, settings: ServeSettings, make_model) -> None:
    serve_yard.transition("churn", 2, "canary", reason="try it")
    with LiveServer(create_app(serve_yard, settings=settings)) as live, httpx.Client(base_url=live.url) as c:
        assert c.put("/admin/traffic/churn", json={"canary_fraction": 1.0}, headers=ADMIN).status_code == 200
        serve_yard.transition("churn", 2, "shadow", reason="back to listening")
        v3 = serve_yard.register("churn", make_model(0.1))
        serve_yard.transition("churn", v3.version, "canary", reason="the next one")
        deadline = time.monotonic() + 5
        while live.service.deployments.get("churn").canary is None or (
            live.service.deployments.get("churn").canary.version != v3.version
        ):
            assert time.monotonic() < deadline, "the server never deployed the new canary"
            time.sleep(0.05)
        view = c.get("/admin/traffic", headers=ADMIN).json()["use_cases"][0]
    assert (view["canary_version"], view["canary_fraction"], view["source"]) == (v3.version, 0.1, "default")
    assert view["note"] == f"the split set for v2 does not carry over to v{v3.version}; set one for it"


def test_the_registry_poller_outlives_any_failure(
    serve_yard: Any, settings: ServeSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with LiveServer(create_app(serve_yard, settings=settings)) as live, httpx.Client(base_url=live.url) as c:
        deployments = live.service.deployments
        real = deployments.refresh
        failures = iter(range(3))

        def flaky() -> list[str]:  # a renamed table or a revoked grant: not an OperationalError
            if next(failures, None) is not None:
                raise RuntimeError("relation traffic_splits does not exist")
            return real()

        monkeypatch.setattr(deployments, "refresh", flaky)
        with caplog.at_level("WARNING", logger="modelyard.serve"):
            deadline = time.monotonic() + 5
            while "modelyard_registry_poll_failures_total 3.0" not in c.get("/metrics").text:
                assert time.monotonic() < deadline, "the failures were never counted"
                time.sleep(0.05)
            serve_yard.transition("churn", 2, "canary", reason="after the failures")
            while deployments.get("churn").canary is None:
                assert time.monotonic() < deadline + 5, "the poller stopped: the canary never arrived"
                time.sleep(0.05)
    said = [r.getMessage() for r in caplog.records if "registry poll" in r.getMessage()]
    assert said == [
        "registry poll failed, serving the last deployments: RuntimeError: relation traffic_splits does not exist",
        "registry poll works again",
    ]  # an outage is logged once, not at every poll
