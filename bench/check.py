"""Time the handoff check of the demo's challenger, stage by stage; count soak false alarms.

    .venv/bin/python bench/check.py                       # one full check (30 s soak), time per stage
    .venv/bin/python bench/check.py --soak-repeats 20     # and 20 more soaks of the healthy challenger

Issue 4's target: the full check, soak included, in under 90 s on this machine.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from rich.console import Console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soak-seconds", type=float, default=30.0, help="soak length of each run (default 30)")
    parser.add_argument("--soak-repeats", type=int, default=0, help="extra soaks of the healthy challenger")
    parser.add_argument("--table", action="store_true", help="print the check's table too")
    args = parser.parse_args()

    from modelyard.check import run_check
    from modelyard.check._data import build_inputs, read_sample
    from modelyard.check._runtime import production_runtime
    from modelyard.check._soak import run_soak, soak_checks
    from modelyard.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        start = time.perf_counter()
        yard = run_demo(Path(tmp) / "demo", console=Console(file=io.StringIO()))
        print(f"demo yard built in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        result = run_check(yard, "churn", 2, soak_seconds=args.soak_seconds)
        total = time.perf_counter() - start
        if args.table:
            Console(width=200).print(result.table())
        print(f"full check of churn/v2 (soak {args.soak_seconds:g} s): {'PASSED' if result.passed else 'FAILED'}")
        for stage, seconds in result.timings_s.items():
            print(f"  {stage:<12} {seconds:7.2f} s")
        print(f"  {'total':<12} {total:7.2f} s  (target < 90 s)")
        for name in ("latency_p50_ms", "latency_p99_ms", "batch_100_ms", "memory_mb", "artifact_mb", "soak_calls"):
            print(f"  {name:<16} {result.measurements.get(name, float('nan')):10.3f}")
        for row in result.checks:
            if row.status.value in ("FAIL", "WARN"):
                print(f"  {row.status.value} {row.name}: {row.message[:160]}")

        if args.soak_repeats:
            spec = yard.use_case("churn")
            frame = build_inputs(spec, read_sample(yard.settings.root, None).raw)[list(spec.input_names)]
            loaded = yard.load("churn", 2)
            alarms = 0
            print(f"\n{args.soak_repeats} soaks of {args.soak_seconds:g} s of the healthy challenger:")
            for i in range(args.soak_repeats):
                with production_runtime():
                    run = run_soak(loaded.score, frame, args.soak_seconds)
                rows, _, _ = soak_checks(run)
                failed = [r for r in rows if r.status.value == "FAIL"]
                alarms += bool(failed)
                summary = "; ".join(f"{r.name} {r.status.value} {r.measured}" for r in rows)
                print(f"  run {i + 1:2d}: {run.calls:5d} calls  {summary}")
            print(f"false alarms: {alarms} of {args.soak_repeats}")
        yard.close()


if __name__ == "__main__":
    main()
