"""Canary: a sticky fraction by entity key. Shadows: scored off the response path, only logged."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from modelyard.serve import ServeSettings, create_app, read_prediction_log
from modelyard.serve._routing import canary_bucket, takes_canary

from .conftest import LiveServer


def test_canary_bucket_is_stable_and_uniform() -> None:
    assert canary_bucket("churn", "C00001") == canary_bucket("churn", "C00001")
    buckets = [canary_bucket("churn", f"C{i:05d}") for i in range(4000)]
    assert 0.47 < sum(b < 0.5 for b in buckets) / 4000 < 0.53
    assert not takes_canary("churn", "C1", 0.0) and takes_canary("churn", "C1", 1.0)


def test_canary_gets_its_fraction_sticky_by_entity(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]]
) -> None:
    serve_yard.transition("churn", 2, "canary", reason="try it on 30%")
    app = create_app(serve_yard, settings=settings.model_copy(update={"canary_fraction": 0.3}))
    seen: dict[str, set[int]] = {}
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        for row in raw_rows[:120] * 2:
            body = c.post("/predict/churn", json=row).json()
            seen.setdefault(row["customer_id"], set()).add(body["version"])
            assert body["role"] == ("canary" if body["version"] == 2 else "production")
    assert all(len(v) == 1 for v in seen.values())  # sticky
    share = sum(v == {2} for v in seen.values()) / len(seen)
    assert 0.15 < share < 0.45
    expected = {cid for cid in seen if canary_bucket("churn", cid) < 0.3}
    assert {cid for cid, v in seen.items() if v == {2}} == expected


def test_shadow_is_logged_but_never_answers(live: LiveServer, raw_rows: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        ids = []
        for row in raw_rows[:20]:
            body = c.post("/predict/churn", json=row).json()
            assert body["version"] == 1 and body["role"] == "production"
            ids.append(body["request_id"])
    deadline = time.monotonic() + 10
    folder = live.service.log_folder
    while time.monotonic() < deadline:
        log = read_prediction_log(folder, "churn")
        if (log["role"] == "shadow").sum() == 20 and (log["role"] == "production").sum() == 20:
            break
        time.sleep(0.1)
    shadow = log[log["role"] == "shadow"]
    assert sorted(shadow["request_id"]) == sorted(ids)
    assert set(shadow["version"]) == {2} and set(log[log["role"] == "production"]["version"]) == {1}


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_canary_fraction_extremes(
    serve_yard: Any, settings: ServeSettings, raw_rows: list[dict[str, Any]], fraction: float
) -> None:
    serve_yard.transition("churn", 2, "canary", reason="try")
    app = create_app(serve_yard, settings=settings.model_copy(update={"canary_fraction": fraction}))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as c:
        versions = {c.post("/predict/churn", json=row).json()["version"] for row in raw_rows[:10]}
    assert versions == ({2} if fraction == 1.0 else {1})
