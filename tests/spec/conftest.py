"""Fixtures for the spec tests: the demo spec, and a factory writing spec text to a temporary file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DEMO_SPEC = Path(__file__).parents[2] / "src" / "modelyard" / "demo" / "assets" / "churn.yaml"

#: A small valid spec; tests replace parts of it. Line numbers matter: see the comments.
MINIMAL = """\
name: churn
task: binary_classification
inputs:
  - name: tenure
    type: int
    min: 0
  - name: contract
    type: category
    categories: [Month-to-month, One year]
  - name: monthly_charges
    type: float
budgets:
  latency_p99_ms: 50
costs:
  false_positive: 50
  false_negative: "12 * monthly_charges"
segments:
  - name: long_contract
    filter: "contract != 'Month-to-month'"
    guards:
      - metric: false_positive_rate
        must: not_increase
gates:
  - kind: budget
    budget: latency_p99_ms
data:
  source: data.parquet
  label: churned
"""

SpecWriter = Callable[..., Path]


@pytest.fixture
def minimal_spec() -> str:
    return MINIMAL


@pytest.fixture
def demo_spec() -> Path:
    return DEMO_SPEC


@pytest.fixture
def write_spec(tmp_path: Path) -> SpecWriter:
    """Write spec text (MINIMAL by default, with ``replace`` pairs applied) to ``<tmp>/<name>.yaml``."""

    def write(text: str = MINIMAL, *, replace: tuple[tuple[str, str], ...] = (), name: str = "churn") -> Path:
        for old, new in replace:
            assert old in text, f"test bug: {old!r} not in the spec text"
            text = text.replace(old, new, 1)
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
