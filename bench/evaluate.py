"""Benchmark of the business evaluation's two heavy parts. Run: ``python bench/evaluate.py``.

1. Cost curve and optimal threshold on 10,000,000 rows, as a ratio to one call of scikit-learn's
   ``roc_auc_score`` on the same data (target <= 3x).
2. 1,000 paired bootstrap replicates of the cost difference on 1,000,000 rows (target < 15 s), with
   the process's peak resident memory before and after (memory must stay bounded: no 1,000 x
   1,000,000 matrix).

The bootstrap runs first so that its peak memory is not hidden by the 10M-row arrays.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from modelyard.evaluate import RowCosts, cost_curve, paired_cost_bootstrap


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def amounts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    charges = rng.uniform(20, 120, n)
    return {
        "true_positive": 50 + 0.3 * 12 * charges,
        "false_positive": np.full(n, 50.0),
        "true_negative": np.zeros(n),
        "false_negative": 12 * charges,
    }


def bench_bootstrap(n: int = 1_000_000, replicates: int = 1000) -> None:
    rng = np.random.default_rng(1)
    y = rng.random(n) < 0.3
    costs = RowCosts.from_amounts(y, amounts(rng, n))
    champion = np.clip(0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1)
    challenger = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1)
    cost_a = costs.of(challenger >= 0.2)
    cost_b = costs.of(champion >= 0.2)
    before = peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    out = paired_cost_bootstrap(cost_a, cost_b, replicates=replicates, seed=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    diff = out["difference"]
    print(
        f"paired bootstrap: {replicates:,} replicates on {n:,} rows in {seconds:.2f} s (CPU {cpu:.2f} s; target < 15 s)"
    )
    print(
        f"  cost difference {diff.value:,.0f} [{diff.low:,.0f}, {diff.high:,.0f}], "
        f"P(cheaper) {out['probability_a_cheaper']:.3f}"
    )
    print(f"  peak RSS {before:,.0f} MB before, {peak_rss_mb():,.0f} MB after (a full matrix would be 8,000 MB)")


def bench_cost_curve(n: int = 10_000_000) -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(n)
    y = rng.random(n) < scores
    costs = RowCosts.from_amounts(y, amounts(rng, n))
    start = time.perf_counter()
    auc = roc_auc_score(y, scores)
    sklearn_seconds = time.perf_counter() - start
    start = time.perf_counter()
    curve = cost_curve(scores, costs)
    threshold, best = curve.best_threshold, curve.best_cost
    ours = time.perf_counter() - start
    print(f"cost curve on {n:,} rows: {ours:.2f} s for {len(curve.thresholds):,} thresholds; best {threshold:.4f}")
    print(f"  sklearn roc_auc_score: {sklearn_seconds:.2f} s (AUC {auc:.4f})")
    print(f"  load average while running: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  ratio cost curve / roc_auc_score: {ours / sklearn_seconds:.2f}x (target <= 3x); cost {best:,.0f}")


if __name__ == "__main__":
    bench_bootstrap()
    bench_cost_curve()
