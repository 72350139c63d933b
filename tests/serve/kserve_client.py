"""Run by the kserve venv's Python (not collected by pytest): the real kserve v2 REST client
against a modelyard server.

    python kserve_client.py BASE_URL < {"inputs": [model metadata inputs], "columns": {name: values}}

Prints one JSON object: the health answers, then per encoding (JSON tensors, binary tensors) the
response's id, model name, output names and scores.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

_DTYPES = {"BYTES": np.object_, "INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_}


def _inputs(payload: dict[str, Any], *, binary: bool) -> list[InferInput]:
    tensors = []
    for spec in payload["inputs"]:
        values = np.array(payload["columns"][spec["name"]], dtype=_DTYPES[spec["datatype"]])
        tensor = InferInput(spec["name"], [len(values)], spec["datatype"])
        tensor.set_data_from_numpy(values, binary_data=binary)
        tensors.append(tensor)
    return tensors


async def main(base: str, payload: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with InferenceRESTClient(RESTConfig(protocol="v2", retries=1, timeout=30)) as client:
        out["live"] = await client.is_server_live(base)
        out["ready"] = await client.is_server_ready(base)
        out["model_ready"] = await client.is_model_ready(base, "churn")
        out["unknown_model_ready"] = await client.is_model_ready(base, "no-such-model")
        for binary in (False, True):
            request = InferRequest("churn", _inputs(payload, binary=binary), request_id=f"kserve-{binary}")
            response = await client.infer(base, request, model_name="churn")
            outputs = {o.name: o.as_numpy().tolist() for o in response.outputs}
            out["binary" if binary else "json"] = {
                "id": response.id,
                "model_name": response.model_name,
                "outputs": outputs,
            }
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], json.load(sys.stdin)))))
