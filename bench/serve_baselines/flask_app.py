"""Baseline: the "100-line Flask wrapper" a team writes around its model, run under gunicorn.

    BENCH_MODEL_DIR=<folder> gunicorn -w 2 -b 127.0.0.1:8000 flask_app:app     (sync workers)

``BENCH_MODEL_DIR`` holds ``model.joblib`` (the fitted scikit-learn pipeline) and ``features.py``
(a copy of modelyard.demo.features). POST /predict/churn takes one JSON record or a list of them.
"""

import os
import sys

import joblib
import pandas as pd
from flask import Flask, jsonify, request

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
sys.path.insert(0, MODEL_DIR)
from features import churn_features  # noqa: E402

model = joblib.load(os.path.join(MODEL_DIR, "model.joblib"))
THRESHOLD = 0.5

app = Flask(__name__)


@app.post("/predict/churn")
def predict():
    payload = request.get_json()
    records = payload if isinstance(payload, list) else [payload]
    scores = model.predict_proba(churn_features(pd.DataFrame(records)))[:, 1]
    return jsonify({"predictions": [{"score": float(s), "decision": bool(s >= THRESHOLD)} for s in scores]})


@app.get("/health")
def health():
    return "ok"
