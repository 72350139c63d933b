"""The handoff check: will this model work in production?

Loads the model through the server's own code, runs it on production rows (through the spec's
feature code) and checks inputs, outputs, determinism, latency, memory, a soak for growth and
ONNX parity; the verdict is a table, JSON and an exit code, stored against the version::

    from modelyard.check import run_check
    result = run_check(yard, "churn", "v2", data="data/recent.parquet")
    print(result.to_json()); raise SystemExit(result.exit_code)
"""

from modelyard.check._adapters import ADAPTER_KEYS, OutputAdapter, adapters_from_spec, apply_adapters
from modelyard.check._result import Check, CheckResult, Status
from modelyard.check._run import STAGES, demo_stage, run_check
from modelyard.check._soak import DEFAULT_SOAK_SECONDS, Trend, fit_trend

__all__ = [
    "ADAPTER_KEYS",
    "DEFAULT_SOAK_SECONDS",
    "STAGES",
    "Check",
    "CheckResult",
    "OutputAdapter",
    "Status",
    "Trend",
    "adapters_from_spec",
    "apply_adapters",
    "demo_stage",
    "fit_trend",
    "run_check",
]
