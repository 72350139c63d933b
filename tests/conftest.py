"""Shared fixtures: real SQLite files, the real PostgreSQL of this machine, real models on real data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

PG_SERVER = os.environ.get("MODELYARD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_SERVER)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip message
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_available() -> None:
    problem = _postgres_reachable()
    if problem is None:
        return
    if os.environ.get("MODELYARD_REQUIRE_POSTGRES") or os.environ.get("CI"):
        pytest.fail(f"PostgreSQL at {PG_SERVER} is required here but unreachable: {problem}")
    pytest.skip(f"PostgreSQL at {PG_SERVER} unreachable: {problem}")


@pytest.fixture
def pg_url(postgres_available: None) -> Iterator[str]:
    """A URL into a fresh schema of the ``test`` database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a real SQLite file and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def yard_root(tmp_path: Path) -> Path:
    """A project folder holding the demo's churn spec."""
    root = tmp_path / "project"
    (root / "usecases").mkdir(parents=True)
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    (root / "usecases" / "churn.yaml").write_text(spec, encoding="utf-8")
    return root


@pytest.fixture
def yard(yard_root: Path, store_url: str) -> Iterator[object]:
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=store_url, author="tester")) as y:
        yield y


@pytest.fixture(scope="session")
def churn_frame() -> tuple[pd.DataFrame, pd.Series]:
    """Model inputs and labels of the real telco churn table (first 2,000 customers by sign-up)."""
    from modelyard.demo._data import load_raw_churn
    from modelyard.demo.features import churn_features

    raw = load_raw_churn().iloc[:2000]
    return churn_features(raw), raw["churned"]


@pytest.fixture(scope="session")
def baseline_model(churn_frame: tuple[pd.DataFrame, pd.Series]) -> object:
    from modelyard.demo import build_baseline

    x, y = churn_frame
    return build_baseline().fit(x, y)


@pytest.fixture(scope="session")
def make_model(churn_frame: tuple[pd.DataFrame, pd.Series]):  # type: ignore[no-untyped-def]
    """Distinct fitted baselines (different C), so each registers as a new artifact."""
    from modelyard.demo import build_baseline

    x, y = churn_frame
    cache: dict[float, object] = {}

    def make(c: float = 1.0) -> object:
        if c not in cache:
            cache[c] = build_baseline().set_params(model__C=c).fit(x, y)
        return cache[c]

    return make
