"""The feasibility plot: measured points, fitted learning curves with their bands, the target."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from modelyard._exceptions import UsageError
from modelyard.board._feasibility import widen

if TYPE_CHECKING:
    from modelyard.board._feasibility import FeasibilityResult

__all__ = ["plot_feasibility"]

_COLORS = {"logistic": "#1f77b4", "boosting": "#d62728"}


def plot_feasibility(result: FeasibilityResult, path: Path) -> Path:
    """Write the plot to ``path`` (``.png`` or ``.svg``) and return it."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"The plot file {str(path)!r} must end in .png or .svg; e.g. --plot feasibility.png")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), dpi=110)
    ax = fig.add_subplot()
    rows = result.rows
    grid = np.geomspace(min(c.sizes[0] for c in result.curves), 5 * rows, 200)
    for curve in result.curves:
        color = _COLORS.get(curve.model, "#444444")
        a, b, c = curve.params

        def metric(err: np.ndarray) -> np.ndarray:
            return 1 - err if result.higher_is_better else err

        ax.errorbar(
            curve.sizes,
            curve.mean,
            yerr=curve.sd,
            fmt="o",
            color=color,
            ms=4,
            capsize=2,
            label=f"{curve.model} (measured, ±1 sd over folds)",
        )
        ax.plot(grid, metric(a * (grid / curve.n0) ** (-b) + c), color=color, lw=1.8, label=f"{curve.model} power law")
        if len(curve.draws):
            d = curve.draws
            center = metric(a * (grid / curve.n0) ** (-b) + c)
            band = metric(d[:, :1] * (grid[None, :] / curve.n0) ** (-d[:, 1:2]) + d[:, 2:3])
            band = widen(band, center[None, :], result.widening, result.higher_is_better)
            tail = (1 - result.level) / 2
            ax.fill_between(
                grid,
                np.quantile(band, tail, axis=0),
                np.quantile(band, 1 - tail, axis=0),
                color=color,
                alpha=0.15,
                lw=0,
            )
    ax.axhline(result.target.value, color="black", ls="--", lw=1, label=f"target {result.target}")
    for p in result.predictions:
        if not math.isinf(p.rows):
            ax.axvline(p.rows, color="grey", ls=":", lw=1)
            ax.annotate(
                p.label, (p.rows, ax.get_ylim()[0]), fontsize=8, color="grey", xytext=(2, 2), textcoords="offset points"
            )
    ax.set_xscale("log")
    ax.set_xlabel("training rows")
    ax.set_ylabel(result.target.metric)
    ax.set_title(f"{result.use_case}: learning curves ({result.level:.0%} bands, {result.split.short})")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
