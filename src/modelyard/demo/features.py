"""The churn use case's feature code: one definition, run by snapshots and by the server alike."""

from __future__ import annotations

import pandas as pd

__all__ = ["CATEGORICAL", "FLAGS", "NUMERIC", "churn_features"]

FLAGS = ["female", "senior_citizen", "partner", "dependents", "phone_service", "paperless_billing"]
NUMERIC = ["tenure", "monthly_charges", "total_charges"]
CATEGORICAL = [
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "contract",
    "payment_method",
]


def churn_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Model inputs from raw customer rows: 0/1 flags and counts as int, money as float, categories as str.

    ``total_charges`` is empty for customers in their first month (nothing billed yet); it stays
    null, as the spec allows, and the models impute it.
    """
    out: dict[str, pd.Series] = {col: raw[col].astype("int64") for col in FLAGS}
    out["tenure"] = raw["tenure"].astype("int64")
    out["monthly_charges"] = raw["monthly_charges"].astype("float64")
    out["total_charges"] = pd.to_numeric(raw["total_charges"], errors="coerce").astype("float64")
    for col in CATEGORICAL:
        out[col] = raw[col].astype(str)
    return pd.DataFrame(out, index=raw.index)  # one frame built at once: inserting column by column costs 2x
