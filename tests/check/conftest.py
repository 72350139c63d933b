"""Fixtures of the handoff check: the churn spec, raw production rows, a yard with data/recent.parquet."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from check import leaky_models
from modelyard.check import _run
from modelyard.check._memory import Memory


@pytest.fixture(scope="session")
def spec():  # type: ignore[no-untyped-def]
    from modelyard.spec import load_use_case

    path = resources.files("modelyard.demo").joinpath("assets/churn.yaml")
    with resources.as_file(path) as file:
        return load_use_case(file)


@pytest.fixture(scope="session")
def raw_recent() -> pd.DataFrame:
    """The newest 600 customers, raw, as production stores them."""
    from modelyard.demo._data import load_raw_churn

    return load_raw_churn().iloc[-600:].reset_index(drop=True)


@pytest.fixture(scope="session")
def features(spec, raw_recent: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from modelyard.demo.features import churn_features

    return churn_features(raw_recent)[list(spec.input_names)]


@pytest.fixture
def check_yard(yard, raw_recent: pd.DataFrame):  # type: ignore[no-untyped-def]
    """The ``yard`` fixture (SQLite and PostgreSQL) with production rows in data/recent.parquet."""
    root = Path(yard.settings.root)
    (root / "data").mkdir(exist_ok=True)
    raw_recent.to_parquet(root / "data" / "recent.parquet", index=False)
    # A generous latency budget: this machine is shared, and these tests are not about latency.
    spec = root / "usecases" / "churn.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("latency_p99_ms: 50 ", "latency_p99_ms: 2000 "))
    return yard


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short latency runs and a stand-in for the memory subprocess, for tests about something else."""
    monkeypatch.setattr(_run, "_LATENCY_SECONDS", 0.1)
    monkeypatch.setattr(_run, "_LATENCY_MIN_CALLS", 30)
    monkeypatch.setattr(_run, "_ONNX_LATENCY_SECONDS", 0.1)
    monkeypatch.setattr(
        _run,
        "measure_memory",
        lambda saved, frame, trust: Memory(12.5, 300.0, 290.0, 280.0, "stand-in"),
    )


@pytest.fixture(autouse=True)
def _forget_leaks() -> None:
    leaky_models.reset()
