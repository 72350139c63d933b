"""Every protocol on a real uvicorn server: plain JSON, MLflow scoring, OIP v2 (with tritonclient and kserve)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelyard.demo.features import INPUTS  # the spec's inputs, in its order (pinned in test_validate)


def expected_scores(yard: Any, rows: list[dict[str, Any]], version: int = 1) -> np.ndarray:
    from modelyard.demo.features import churn_features

    return yard.load("churn", version).score(churn_features(pd.DataFrame(rows)))


def test_plain_predict_answers_score_decision_version_and_request_id(
    client: httpx.Client, serve_yard: Any, raw_rows: list[dict[str, Any]]
) -> None:
    r = client.post("/predict/churn", json=raw_rows[:5])
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and body["role"] == "production" and body["use_case"] == "churn"
    assert len(body["request_id"]) == 32 and r.headers["x-request-id"] == body["request_id"]
    scores = np.array([p["score"] for p in body["predictions"]])
    np.testing.assert_allclose(scores, expected_scores(serve_yard, raw_rows[:5]))
    assert [p["decision"] for p in body["predictions"]] == (scores >= body["threshold"]).tolist()


def test_plain_predict_takes_one_record_or_records_key(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    one = client.post("/predict/churn", json=raw_rows[0]).json()
    many = client.post("/predict/churn", json={"records": raw_rows[:1]}).json()
    assert one["predictions"] == many["predictions"]


@pytest.mark.parametrize("form", ["dataframe_split", "dataframe_records", "instances", "inputs_records", "inputs_cols"])
def test_mlflow_invocations_accepts_every_input_format(
    client: httpx.Client, serve_yard: Any, raw_rows: list[dict[str, Any]], form: str
) -> None:
    rows = raw_rows[:4]
    frame = pd.DataFrame(rows)
    body: dict[str, Any] = {
        "dataframe_split": {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}},
        "dataframe_records": {"dataframe_records": rows},
        "instances": {"instances": rows},
        "inputs_records": {"inputs": rows},
        "inputs_cols": {"inputs": {c: frame[c].tolist() for c in frame.columns}},
    }[form]
    r = client.post("/invocations", json=body)
    assert r.status_code == 200, r.text
    scores = [p["score"] for p in r.json()["predictions"]]
    np.testing.assert_allclose(scores, expected_scores(serve_yard, rows))
    assert r.json()["model_version"] == "1"


def test_mlflow_ping_health_version(client: httpx.Client) -> None:
    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/version").status_code == 200


def _oip_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    frame = pd.DataFrame(rows)
    inputs = []
    for col in INPUTS:
        values = frame[col]
        if values.dtype.kind in "iu":
            datatype = "INT64"
        elif values.dtype.kind == "f" or col == "total_charges":
            datatype = "FP64"
        else:
            datatype = "BYTES"
        inputs.append({"name": col, "shape": [len(frame)], "datatype": datatype, "data": values.tolist()})
    return {"id": "abc-1", "inputs": inputs, "parameters": {"content_type": "pd"}}


def test_oip_infer_json_echoes_id_and_returns_model_version(
    client: httpx.Client, serve_yard: Any, raw_rows: list[dict[str, Any]]
) -> None:
    rows = [r for r in raw_rows if r["total_charges"] is not None][:3]
    r = client.post("/v2/models/churn/infer", json=_oip_body(rows))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "abc-1" and body["model_name"] == "churn" and body["model_version"] == "1"
    outputs = {o["name"]: o for o in body["outputs"]}
    np.testing.assert_allclose(outputs["score"]["data"], expected_scores(serve_yard, rows))
    assert outputs["score"]["datatype"] == "FP64" and outputs["decision"]["datatype"] == "BOOL"


def test_oip_versioned_infer_scores_with_that_version(
    client: httpx.Client, serve_yard: Any, raw_rows: list[dict[str, Any]]
) -> None:
    rows = [r for r in raw_rows if r["total_charges"] is not None][:3]
    r = client.post("/v2/models/churn/versions/2/infer", json=_oip_body(rows))
    assert r.status_code == 200, r.text
    assert r.json()["model_version"] == "2"
    np.testing.assert_allclose(r.json()["outputs"][0]["data"], expected_scores(serve_yard, rows, 2))


def test_oip_health_metadata_ready(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["name"] == "modelyard"
    meta = client.get("/v2/models/churn").json()
    assert [i["name"] for i in meta["inputs"]] == INPUTS
    assert meta["versions"] == ["1", "2"]
    assert client.get("/v2/models/churn/ready").status_code == 200
    assert client.get("/v2/models/churn/versions/2/ready").status_code == 200
    assert client.get("/v2/models/churn/versions/9/ready").status_code == 404


def test_tritonclient_works_unchanged(live: Any, serve_yard: Any, raw_rows: list[dict[str, Any]]) -> None:
    """The real tritonclient.http client: binary tensors in (its default), JSON out."""
    import tritonclient.http as triton

    rows = [r for r in raw_rows if r["total_charges"] is not None][:8]
    frame = pd.DataFrame(rows)
    client = triton.InferenceServerClient(url=f"127.0.0.1:{live.port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("churn")
        meta = client.get_model_metadata("churn")
        inputs = []
        for spec in meta["inputs"]:
            col = frame[spec["name"]]
            if spec["datatype"] == "BYTES":
                arr = np.array(col.astype(str).tolist(), dtype=np.object_)
            else:
                arr = col.to_numpy().astype(np.int64 if spec["datatype"] == "INT64" else np.float64)
            tensor = triton.InferInput(spec["name"], [len(frame)], spec["datatype"])
            tensor.set_data_from_numpy(arr)  # binary_data=True by default
            inputs.append(tensor)
        result = client.infer("churn", inputs, request_id="req-7")
        np.testing.assert_allclose(result.as_numpy("score"), expected_scores(serve_yard, rows))
        response = result.get_response()
        assert response["id"] == "req-7" and response["model_version"] == "1"
        json_inputs = []
        for spec in meta["inputs"]:
            col = frame[spec["name"]]
            t = triton.InferInput(spec["name"], [len(frame)], spec["datatype"])
            if spec["datatype"] == "BYTES":
                t.set_data_from_numpy(np.array(col.astype(str).tolist(), dtype=np.object_), binary_data=False)
            else:
                t.set_data_from_numpy(
                    col.to_numpy().astype(np.int64 if spec["datatype"] == "INT64" else np.float64), binary_data=False
                )
            json_inputs.append(t)
        outputs = [triton.InferRequestedOutput("score", binary_data=False)]
        again = client.infer("churn", json_inputs, outputs=outputs)
        np.testing.assert_allclose(again.as_numpy("score"), result.as_numpy("score"))
    finally:
        client.close()


def test_kserve_client_works_unchanged(
    live: Any, client: httpx.Client, serve_yard: Any, raw_rows: list[dict[str, Any]], kserve_python: Path
) -> None:
    """The real kserve v2 REST client (``InferenceRESTClient``), from a venv of its own: health,
    model readiness, and inference with JSON tensors and with binary tensors (its default)."""
    rows = [r for r in raw_rows if r["total_charges"] is not None][:8]
    inputs = client.get("/v2/models/churn").json()["inputs"]
    payload = {"inputs": inputs, "columns": {i["name"]: pd.DataFrame(rows)[i["name"]].tolist() for i in inputs}}
    script = Path(__file__).with_name("kserve_client.py")
    argv = [str(kserve_python), str(script), live.url]
    done = subprocess.run(argv, input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout)
    assert answers["live"] is True and answers["ready"] is True
    assert answers["model_ready"] is True and answers["unknown_model_ready"] is False
    expected = expected_scores(serve_yard, rows)
    for encoding in ("json", "binary"):
        response = answers[encoding]
        assert response["id"] == f"kserve-{encoding == 'binary'}" and response["model_name"] == "churn"
        np.testing.assert_allclose(response["outputs"]["score"], expected)


def test_openapi_and_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/predict/{use_case}", "/invocations", "/v2/models/{name}/infer", "/metrics", "/ping"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_models_lists_deployments(client: httpx.Client) -> None:
    status = client.get("/models").json()
    assert status["deployments"] == [
        {
            "use_case": "churn",
            "production": 1,
            "canary": None,
            "canary_fraction": 0.1,
            "shadows": [2],
            "thresholds": {"1": 0.5, "2": 0.5},
        }
    ]


def test_inconsistent_requests_are_400s_in_each_protocols_error_shape(client: httpx.Client) -> None:
    """The parsers' refusals on a live server (each case in detail: test_protocols_parsing.py)."""
    body = {"inputs": [{"name": "contract", "shape": [1], "datatype": "FP64", "data": ["Month-to-month"]}]}
    r = client.post("/v2/models/churn/infer", json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "Input 'contract': datatype FP64, but data[0] is a string (\"Month-to-month\"); "
        "send numbers or declare BYTES"
    }
    head = json.dumps(
        {"inputs": [{"name": "contract", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 12}}]}
    ).encode()
    r = client.post(
        "/v2/models/churn/infer",
        content=head + b"\xe8\x03\x00\x00Two year",
        headers={"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("Input 'contract': BYTES element 0 has a length prefix of 1000 bytes")
    split = {"columns": ["tenure", "tenure"], "data": [[1, 2]]}
    r = client.post("/invocations", json={"dataframe_split": split})
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error_code": "BAD_REQUEST",
        "message": "Column 'tenure' is given twice in dataframe_split.columns; send each column once",
    }
