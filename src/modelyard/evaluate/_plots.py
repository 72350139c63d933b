"""The report's plots with matplotlib (object API, Agg canvas), as base64 PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["all_plots"]

COLORS = {"challenger": "#1f77b4", "champion": "#ff7f0e"}


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    return fig, fig.add_subplot()


def _roles(result: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(role, result["models"][role]) for role in ("challenger", "champion") if "curves" in result["models"][role]]


def cost_plot(result: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    for role, entry in _roles(result):
        curve = entry["curves"]["cost"]
        ax.plot(curve["threshold"], curve["cost_per_1000"], color=COLORS[role], label=f"{entry['label']} ({role})")
        t = entry.get("chosen_threshold")
        if t is not None:
            best = entry["in_sample_min_cost"]["per_1000"]
            ax.axvline(t, color=COLORS[role], linestyle=":", linewidth=1)
            ax.plot([t], [best], marker="o", color=COLORS[role])
            ax.annotate(f"{t:.2f}", (t, best), textcoords="offset points", xytext=(4, -12), color=COLORS[role])
    trivial = result["trivial"]
    ax.axhline(
        trivial["act_on_everyone"]["per_1000"],
        color="grey",
        linestyle="--",
        linewidth=1,
        label=f"act on everyone ({trivial['act_on_everyone']['per_1000']:,.0f})",
    )
    ax.axhline(
        trivial["act_on_no_one"]["per_1000"],
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"act on no one ({trivial['act_on_no_one']['per_1000']:,.0f})",
    )
    # zoom on the region that matters: from the cheapest point to a little above the trivial policies
    lows = [e["in_sample_min_cost"]["per_1000"] for _, e in _roles(result)]
    cheap_trivial = min(trivial["act_on_everyone"]["per_1000"], trivial["act_on_no_one"]["per_1000"])
    if lows:
        low = min(lows)
        span = max(cheap_trivial - low, 0.05 * abs(low), 1e-9)
        ax.set_ylim(low - 0.3 * span, cheap_trivial + 2.5 * span)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("threshold (act when score ≥ threshold)")
    ax.set_ylabel("expected cost per 1,000 decisions")
    ax.set_title("Expected cost against threshold (● chosen; zoomed near the minimum)", fontsize=10)
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8)
    return _png(fig)


def roc_plot(result: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    for role, entry in _roles(result):
        roc = entry["curves"]["roc"]
        auc = entry["metrics"]["roc_auc"]["value"]
        ax.plot(roc["fpr"], roc["tpr"], color=COLORS[role], label=f"{entry['label']} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("ROC curves")
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def pr_plot(result: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    for role, entry in _roles(result):
        pr = entry["curves"]["pr"]
        ap = entry["metrics"]["pr_auc"]["value"]
        ax.plot(pr["recall"], pr["precision"], color=COLORS[role], label=f"{entry['label']} (AP {ap:.3f})")
    rate = result["data"]["positives"] / max(result["data"]["rows"], 1)
    ax.axhline(rate, color="grey", linestyle=":", linewidth=1, label=f"positive rate {rate:.2f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall curves")
    ax.legend(fontsize=8)
    return _png(fig)


def calibration_plot(result: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    for role, entry in _roles(result):
        bins = entry["calibration"]
        ece = entry["metrics"]["ece"]["value"]
        ax.plot(
            [b["mean_score"] for b in bins],
            [b["positive_rate"] for b in bins],
            marker="o",
            color=COLORS[role],
            label=f"{entry['label']} (ECE {ece:.3f})",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("observed positive rate")
    ax.set_title("Calibration (10 equal-width bins)")
    ax.legend(fontsize=8)
    return _png(fig)


def segment_plot(result: Mapping[str, Any]) -> str | None:
    segments = result["segments"]
    if not segments:
        return None
    fig, ax = _figure()
    groups = [("all rows", {r: result["models"][r]["metrics"] for r in ("challenger", "champion")})]
    groups += [(s["name"], s["models"]) for s in segments]
    width = 0.38
    for k, role in enumerate(("challenger", "champion")):
        xs, heights, low, high = [], [], [], []
        for i, (_, models) in enumerate(groups):
            iv = models[role].get("cost_per_1000") or {}
            value = float(iv.get("value") or 0.0)
            lo, hi = iv.get("low"), iv.get("high")
            xs.append(i + (k - 0.5) * width)
            heights.append(value)
            low.append(max(value - float(lo), 0.0) if lo is not None else 0.0)
            high.append(max(float(hi) - value, 0.0) if hi is not None else 0.0)
        label = result["models"][role]["label"]
        ax.bar(xs, heights, width, yerr=[low, high], capsize=3, color=COLORS[role], label=f"{label} ({role})")
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_ylabel("cost per 1,000 decisions")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title("Cost per segment (95% intervals)")
    ax.legend(fontsize=8)
    return _png(fig)


def month_plot(result: Mapping[str, Any]) -> str | None:
    slices = result["stability"]["slices"]
    if not slices:
        return None
    fig, ax = _figure()
    periods = [s["period"] for s in slices]
    for role in ("challenger", "champion"):
        label = result["models"][role]["label"]
        ax.plot(
            range(len(periods)),
            [s[f"{role}_cost_per_1000"] for s in slices],
            marker=".",
            color=COLORS[role],
            label=f"{label} ({role})",
        )
    step = max(1, len(periods) // 8)
    ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=30, fontsize=8)
    ax.set_ylabel("cost per 1,000 decisions")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(f"Cost per month of {result['stability']['column']}")
    ax.legend(fontsize=8)
    return _png(fig)


def all_plots(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, data URI) of every plot that has data."""
    plots = [
        ("Expected cost against threshold", cost_plot(result)),
        ("ROC curves", roc_plot(result)),
        ("Precision-recall curves", pr_plot(result)),
        ("Calibration", calibration_plot(result)),
        ("Cost per segment", segment_plot(result)),
        ("Cost per month", month_plot(result)),
    ]
    return [(title, uri) for title, uri in plots if uri]
