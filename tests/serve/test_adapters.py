"""The server reads an almost-right model through the spec's output adapter, as the check does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelyard import Settings, Yard
from support_code import tenure_percent, tenure_score


@pytest.fixture
def serve_yard(yard_root: Path, sqlite_url: str) -> Iterator[Yard]:
    """Overrides the shared fixture: a spec with a {scale: 0.01} adapter and a model answering in percent."""
    spec = yard_root / "usecases" / "churn.yaml"
    marker = "  - name: score\n    type: float\n"
    spec.write_text(spec.read_text().replace(marker, marker + "    adapter: {scale: 0.01}\n", 1))
    with Yard(Settings(root=yard_root, database_url=sqlite_url, author="t")) as yard:
        yard.register("churn", tenure_percent)
        yard.promote("churn", 1, reason="first")
        yield yard


def test_a_percent_model_is_served_through_its_adapter(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    response = client.post("/predict/churn", json=raw_rows[:20])
    assert response.status_code == 200, response.text
    scores = np.array([p["score"] for p in response.json()["predictions"]])
    np.testing.assert_allclose(scores, tenure_score(pd.DataFrame(raw_rows[:20])), rtol=1e-12)
    assert scores.max() <= 1.0
