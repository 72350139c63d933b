"""The demo's evaluation stage: the challenger against the champion on the newest customers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from modelyard.evaluate._evaluation import Evaluation, evaluate
from modelyard.evaluate._report_terminal import print_summary

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["demo_stage"]


def demo_stage(yard: Yard, console: Console) -> Evaluation:
    """Evaluate churn v2 against production on ``data/recent.parquet``; print the verdict and report path."""
    evaluation = evaluate(yard, "churn", 2, against="production", data=yard.settings.root / "data" / "recent.parquet")
    print_summary(evaluation.result, console, evaluation.report_path)
    return evaluation
