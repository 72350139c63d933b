"""The demo's handoff-check stage on a real demo yard (slow: builds the demo, soaks 10 s)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from modelyard.check import demo_stage
from modelyard.store import Store


@pytest.mark.slow
def test_demo_stage_checks_the_challenger_and_stores_it(tmp_path: Path) -> None:
    from modelyard.demo import run_demo

    yard = run_demo(tmp_path / "demo", console=Console(file=io.StringIO()))
    try:
        out = io.StringIO()
        result = demo_stage(yard, Console(file=out, width=200))
        assert result.model == "churn/v2" and result.complete
        assert "Handoff check of churn/v2 for churn" in out.getvalue()
        soak = {c.name: c.status.value for c in result.checks if c.name.startswith("soak")}
        assert soak and "FAIL" not in soak.values(), soak
        with yard.store.reading() as conn:
            assert Store.latest_check_result(conn, "churn", 2).id == result.stored_id
    finally:
        yard.close()
