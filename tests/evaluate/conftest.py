"""Fixtures of the evaluation tests: the demo's churn spec, and a yard with a champion and a challenger."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from modelyard.spec import UseCase, load_use_case


@pytest.fixture(scope="session")
def spec(tmp_path_factory: pytest.TempPathFactory) -> UseCase:
    text = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("spec") / "churn.yaml"
    path.write_text(text, encoding="utf-8")
    return load_use_case(path)


@pytest.fixture(scope="session")
def raw_churn() -> pd.DataFrame:
    from modelyard.demo._data import load_raw_churn

    return load_raw_churn()


@pytest.fixture(scope="session")
def recent_raw(raw_churn: pd.DataFrame) -> pd.DataFrame:
    """The newest 20% of customers, raw, as the demo writes them to data/recent.parquet."""
    return raw_churn.iloc[int(len(raw_churn) * 0.8) :].reset_index(drop=True)


@pytest.fixture
def evaluated_yard(yard, make_model, churn_frame, recent_raw: pd.DataFrame, yard_root: Path):  # type: ignore[no-untyped-def]
    """A yard with v1 (production) and v2 (candidate), both fitted on the first 2,000 customers (their
    lineage's training data), and the newest 20% in data/recent.parquet under its root."""
    x, _ = churn_frame
    yard.register("churn", make_model(1.0), training_data=x, code_folder=yard_root)
    yard.promote("churn", 1, reason="first production model")
    yard.register("churn", make_model(0.01), training_data=x, code_folder=yard_root)
    (yard_root / "data").mkdir(exist_ok=True)
    recent_raw.to_parquet(yard_root / "data" / "recent.parquet", index=False)
    return yard
