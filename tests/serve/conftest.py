"""Fixtures of the server tests: a yard with churn v1 in production and v2 in shadow, raw request
rows from the real churn table, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from modelyard.serve import ServeSettings, create_app
from modelyard.serve._background import BackgroundServer


@pytest.fixture(scope="session")
def raw_rows() -> list[dict[str, Any]]:
    """Raw churn rows as a client sends them (JSON-ready; no label, dates as text)."""
    from modelyard.demo._data import load_raw_churn

    raw = load_raw_churn().iloc[2000:2400].drop(columns=["churned"])
    raw["signup_date"] = raw["signup_date"].dt.strftime("%Y-%m-%d")
    raw["total_charges"] = raw["total_charges"].astype(object).where(raw["total_charges"].notna(), None)
    return raw.to_dict("records")


@pytest.fixture
def serve_yard(yard_root: Path, sqlite_url: str, make_model: Any) -> Iterator[Any]:
    """churn v1 (production) and v2 (shadow), on SQLite."""
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=sqlite_url, author="tester")) as y:
        v1 = y.register("churn", make_model(1.0))
        y.promote("churn", v1.version, reason="first")
        v2 = y.register("churn", make_model(0.3))
        y.transition("churn", v2.version, "shadow", reason="listen")
        yield y


@pytest.fixture
def settings(tmp_path: Path) -> ServeSettings:
    return ServeSettings(
        log_folder=tmp_path / "predictions",
        poll_seconds=0.2,
        log_flush_seconds=0.2,
        admin_token="s3cret",
        gc_freeze=False,  # freezing the test process' heap would leak into other tests
    )


LiveServer = BackgroundServer  # uvicorn in a background thread on a free loopback port


@pytest.fixture
def live(serve_yard: Any, settings: ServeSettings) -> Iterator[LiveServer]:
    with LiveServer(create_app(serve_yard, settings=settings)) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)
