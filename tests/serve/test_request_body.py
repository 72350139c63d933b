"""Reading the body: compressed bodies are refused by name, and a client that hangs up mid-body costs
the server neither a traceback nor its health."""

from __future__ import annotations

import gzip
import logging
import socket
import time
from typing import Any

import httpx
import orjson
import pytest

from .conftest import LiveServer


def test_a_compressed_body_is_a_415_in_each_protocols_shape(
    client: httpx.Client, raw_rows: list[dict[str, Any]]
) -> None:
    body = gzip.compress(orjson.dumps(raw_rows[0]))
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    plain = client.post("/predict/churn", content=body, headers=headers)
    assert plain.status_code == 415
    assert plain.json()["error"]["message"].startswith("Content-Encoding 'gzip' is not supported; send the body")
    mlflow = client.post("/invocations", content=body, headers=headers)
    assert mlflow.status_code == 415 and mlflow.json()["error_code"] == "BAD_REQUEST"
    oip = client.post("/v2/models/churn/infer", content=body, headers=headers)
    assert oip.status_code == 415 and "Content-Encoding 'gzip'" in oip.json()["error"]
    identity = client.post("/predict/churn", json=raw_rows[0], headers={"content-encoding": "identity"})
    assert identity.status_code == 200


@pytest.mark.parametrize("path", ["/predict/churn", "/invocations", "/v2/models/churn/infer", "/admin/traffic/churn"])
def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(
    live: LiveServer,
    client: httpx.Client,
    raw_rows: list[dict[str, Any]],
    path: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    method = "PUT" if path.startswith("/admin") else "POST"
    monkeypatch.setattr(logging.getLogger("uvicorn"), "propagate", True)  # its "Exception in ASGI application"
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            with socket.create_connection((live.host, live.port)) as s:
                s.sendall(
                    f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                    "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n".encode()
                    + b'{"tenure": '
                )
                time.sleep(0.05)  # the server is waiting for the rest of the body
        time.sleep(0.5)  # the server notices each hang-up (a log record would come within this)
        assert client.post("/predict/churn", json=raw_rows[0]).status_code == 200
    tracebacks = [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
