"""Baseline: a BentoML service with adaptive batching around the model.

    BENCH_MODEL_DIR=<folder> BENCH_WORKERS=2 bentoml serve bento_service:Churn --port 8000

POST /predict with ``{"records": [...]}``; ``batchable=True`` lets BentoML merge concurrent
requests into one model call. BentoML's defaults otherwise (at most 100 rows per call, its adaptive
dispatcher picks the wait), as a team would leave them.
"""

import os
import sys
from typing import Any

import bentoml
import joblib
import pandas as pd

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
sys.path.insert(0, MODEL_DIR)
from features import churn_features  # noqa: E402

THRESHOLD = 0.5


@bentoml.service(workers=int(os.environ.get("BENCH_WORKERS", "1")), traffic={"timeout": 30})
class Churn:
    def __init__(self) -> None:
        self.model = joblib.load(os.path.join(MODEL_DIR, "model.joblib"))

    @bentoml.api(batchable=True)
    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        scores = self.model.predict_proba(churn_features(pd.DataFrame(records)))[:, 1]
        return [{"score": float(s), "decision": bool(s >= THRESHOLD)} for s in scores]
