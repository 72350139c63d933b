"""The demo yard: the product tour on real churn data."""

from modelyard.demo._run import build_baseline, build_challenger, run_demo

__all__ = ["build_baseline", "build_challenger", "run_demo"]
