"""Baseline: a minimal FastAPI app around the model, run under uvicorn (uvloop + httptools).

    BENCH_MODEL_DIR=<folder> uvicorn fastapi_app:app --workers 2 --port 8000 --no-access-log

The endpoint is a plain ``def`` (FastAPI runs it in its thread pool), as most teams write it.
POST /predict/churn takes one JSON record or a list of them.
"""

import os
import sys
from typing import Any

import joblib
import pandas as pd
from fastapi import Body, FastAPI

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
sys.path.insert(0, MODEL_DIR)
from features import churn_features  # noqa: E402

model = joblib.load(os.path.join(MODEL_DIR, "model.joblib"))
THRESHOLD = 0.5

app = FastAPI()


@app.post("/predict/churn")
def predict(payload: dict[str, Any] | list[dict[str, Any]] = Body(...)) -> dict[str, Any]:
    records = payload if isinstance(payload, list) else [payload]
    scores = model.predict_proba(churn_features(pd.DataFrame(records)))[:, 1]
    return {"predictions": [{"score": float(s), "decision": bool(s >= THRESHOLD)} for s in scores]}


@app.get("/health")
def health() -> str:
    return "ok"
