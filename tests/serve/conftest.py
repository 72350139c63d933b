"""Fixtures of the server tests: a yard with churn v1 in production and v2 in shadow, raw request
rows from the real churn table, a real uvicorn server on a free loopback port, and a venv with the
kserve client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from modelyard.serve import ServeSettings, create_app
from modelyard.serve._background import BackgroundServer

KSERVE = "kserve==0.21.0"
"""The kserve client, in a venv of its own: it pins pandas 2 and psutil 5, which modelyard's venv does not have."""


@pytest.fixture(scope="session")
def kserve_python() -> Path:
    """The Python of ``.venvs/kserve`` (made on first use, ~30 s; kept until the pin changes)."""
    venv = Path(__file__).resolve().parents[2] / ".venvs" / "kserve"
    python, marker = venv / "bin" / "python", venv / "installed.txt"
    if not (python.exists() and marker.exists() and marker.read_text() == KSERVE):
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", KSERVE]
        installed = made if made.returncode else subprocess.run(pip, capture_output=True, text=True)
        if installed.returncode:
            problem = f"could not install {KSERVE} into {venv}: {installed.stderr.strip()[-500:]}"
            if os.environ.get("CI"):
                pytest.fail(problem)
            pytest.skip(problem)
        marker.write_text(KSERVE)
    return python


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
