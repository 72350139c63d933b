from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.demo._data import load_raw_churn, write_monthly_partitions


@pytest.fixture(scope="session")
def raw_churn():  # type: ignore[no-untyped-def]
    return load_raw_churn()


@pytest.fixture
def data_root(yard_root: Path, raw_churn) -> Path:  # type: ignore[no-untyped-def]
    """The project folder with the churn data as monthly Parquet partitions (2023 onwards, to stay quick)."""
    recent = raw_churn[raw_churn["signup_date"] >= "2023-01-01"]
    write_monthly_partitions(recent, yard_root / "data" / "churn")
    return yard_root
