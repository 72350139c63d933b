"""One feature code, two callers: a snapshot scored offline equals the same raw rows sent to the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from modelyard.data import build_snapshot, score_batch
from modelyard.demo._data import load_raw_churn, write_monthly_partitions


def test_offline_snapshot_scores_equal_served_scores(
    serve_yard: Any, yard_root: Path, client: httpx.Client, tmp_path: Path
) -> None:
    raw = load_raw_churn()
    raw = raw[raw["signup_date"] >= "2024-06-01"].reset_index(drop=True)
    write_monthly_partitions(raw, yard_root / "data" / "churn")
    snapshot = build_snapshot(serve_yard, "churn")
    offline = pd.read_parquet(score_batch(serve_yard, "churn", "production", snapshot.id, tmp_path / "s.parquet").out)

    requests = raw.drop(columns=["churned"])
    requests["signup_date"] = requests["signup_date"].dt.strftime("%Y-%m-%d")
    requests["total_charges"] = requests["total_charges"].astype(object).where(requests["total_charges"].notna(), None)
    served: dict[str, float] = {}
    records = requests.to_dict("records")
    for start in range(0, len(records), 100):
        batch = records[start : start + 100]
        response = client.post("/predict/churn", json=batch)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["version"] == offline["version"].iloc[0]
        for row, prediction in zip(batch, body["predictions"], strict=True):
            served[row["customer_id"]] = prediction["score"]

    assert len(served) == len(offline) == snapshot.row_count
    expected = offline.set_index("customer_id")["score"]
    np.testing.assert_allclose([served[c] for c in expected.index], expected.to_numpy(), rtol=0, atol=1e-12)
