"""Benchmark: what a loaded model's ``score`` adds to the library's own predict, per flavor.

    .venv/bin/python bench/flavors.py [--calls 2000]

For one row and for 100 rows of a churn-like table (numbers, a bool and three text columns), from
LightGBM with and without category columns, and from scikit-learn pipelines (OrdinalEncoder, the
default, on the text) ending in HistGradientBoosting or in LightGBM, scored compiled and with
compiling off, and from that HistGradientBoosting pipeline converted to ONNX (as the handoff check
converts it; one input per column):
- ``score``: ``LoadedModel.score(frame)``, the call the server, the check and batch scoring make;
- ``lib frame``: the library's own predict on the same frame, categoricals prepared as at fit (for
  ONNX: ``session.run`` on feeds taken column by column, ``frame[name].to_numpy()``);
- ``lib array``: the library's predict on a ready float array, the floor for any caller (for ONNX:
  ``session.run`` on ready feeds).

Native thread pools are pinned to one thread, as the server pins them. Median microseconds of
--calls calls, after warm-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from modelyard.flavors import load_model, save_model
from modelyard.flavors._sklearn import compiled_scoring

TEXT = ["city", "plan", "channel"]


def orders(n: int, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` seeded rows as production sends them, and a label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 60.0, n).round(2),
            "tenure": rng.integers(0, 72, n),
            "city": rng.choice(["paris", "lyon", "nice", "lille", "nantes"], n),
            "visits": rng.poisson(3, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "channel": rng.choice(["web", "store", "phone", "partner"], n),
            "member": rng.random(n) < 0.3,
        }
    )
    logit = (frame["amount"] - 120) / 60 + (frame["city"] == "nice") * 1.5 - (frame["plan"] == "basic")
    return frame, (logit + rng.normal(0, 1, n) > 0).astype(int).to_numpy()


def median_us(call: Callable[[Any], Any], argument: Any, calls: int) -> float:
    """Median wall time of ``call(argument)`` in microseconds, after 50 warm-up calls."""
    for _ in range(50):
        call(argument)
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter_ns()
        call(argument)
        times[i] = time.perf_counter_ns() - start
    return float(np.median(times)) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per cell (default 2000)")
    args = parser.parse_args()
    threadpool_limits(limits=1)

    import lightgbm as lgb
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    frame, y = orders(5000)
    categorical = frame.astype(dict.fromkeys(TEXT, "category"))
    numeric = frame.drop(columns=TEXT)
    encoder = make_column_transformer((OrdinalEncoder(), TEXT), remainder="passthrough")
    pipeline = make_pipeline(encoder, HistGradientBoostingClassifier(max_iter=100)).fit(frame, y)
    lightgbm_pipeline = make_pipeline(encoder, lgb.LGBMClassifier(n_estimators=100, verbose=-1)).fit(frame, y)
    lightgbm_categories = lgb.LGBMClassifier(n_estimators=100, verbose=-1).fit(categorical, y)
    lightgbm_numbers = lgb.LGBMClassifier(n_estimators=100, verbose=-1).fit(numeric, y)
    models: list[tuple[str, Any, pd.DataFrame, pd.DataFrame, bool]] = [
        ("LightGBM, 3 categories", lightgbm_categories, frame, categorical, True),
        ("LightGBM, numbers", lightgbm_numbers, numeric, numeric, True),
        ("HGB pipeline, compiled", pipeline, frame, frame, True),
        ("HGB pipeline, sklearn", pipeline, frame, frame, False),
        ("LightGBM pipeline, compiled", lightgbm_pipeline, frame, frame, True),
        ("LightGBM pipeline, sklearn", lightgbm_pipeline, frame, frame, False),
    ]
    table = Table(title=f"score vs the library's own predict (median µs of {args.calls:,} calls, 1 thread)")
    for column in ("model", "rows", "score", "lib frame", "lib array", "score/frame"):
        table.add_column(column, justify="left" if column == "model" else "right")
    console = Console()
    with console.status("timing") as status:
        for name, model, production_rows, fit_rows, compiled in models:
            with compiled_scoring(compiled):
                loaded = load_model(save_model(model))
            booster = getattr(model, "booster_", None)  # of a bare LightGBM model, not of a pipeline
            for rows in (1, 100):
                status.update(f"timing {name}, {rows} row(s)")
                given, as_fit = production_rows.iloc[:rows], fit_rows.iloc[:rows]
                score = median_us(loaded.score, given, args.calls)
                frame_us = median_us(model.predict_proba, as_fit, args.calls)
                if booster is not None:
                    array = lgb.basic._data_from_pandas(as_fit, "auto", "auto", booster.pandas_categorical or [])[0]
                    array_us = f"{median_us(booster.predict, array, args.calls):,.0f}"
                else:
                    array_us = "-"  # the pipeline's encoder is part of the model: no array form
                table.add_row(
                    name, str(rows), f"{score:,.0f}", f"{frame_us:,.0f}", array_us, f"{score / frame_us:.2f}x"
                )
        status.update("timing the pipeline converted to ONNX")
        _onnx_rows(table, pipeline, frame, args.calls)
    console.print(table)


def _onnx_rows(table: Table, pipeline: Any, frame: pd.DataFrame, calls: int) -> None:
    """The HistGradientBoosting pipeline converted to ONNX as the handoff check converts it."""
    from modelyard.check._onnx import convert_to_onnx

    conversion = convert_to_onnx(load_model(save_model(pipeline)), frame)
    if conversion.model is None:
        table.add_row("HGB pipeline, ONNX", "-", f"not converted: {conversion.reason}", "", "", "")
        return
    loaded = conversion.model
    session = loaded.raw
    inputs = [(i.name, i.type) for i in session.get_inputs()]
    output = session.get_outputs()[1].name

    def by_column(rows: pd.DataFrame) -> dict[str, np.ndarray]:
        return {
            name: rows[name].to_numpy(dtype=object if kind == "tensor(string)" else np.float32).reshape(-1, 1)
            for name, kind in inputs
        }

    for rows in (1, 100):
        given = frame.iloc[:rows]
        score = median_us(loaded.score, given, calls)
        frame_us = median_us(lambda r: session.run([output], by_column(r)), given, calls)
        ready = by_column(given)
        array_us = median_us(lambda f: session.run([output], f), ready, calls)
        table.add_row(
            "HGB pipeline, ONNX",
            str(rows),
            f"{score:,.0f}",
            f"{frame_us:,.0f}",
            f"{array_us:,.0f}",
            f"{score / frame_us:.2f}x",
        )


if __name__ == "__main__":
    main()
