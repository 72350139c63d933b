"""The evaluation as Markdown, for a pull request or a ticket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.evaluate._format import KEY_METRICS, fmt, fmt_interval, threshold_text, training_rows_line

__all__ = ["render_markdown"]

_ICON = {"pass": "✅", "fail": "❌", "uncertain": "⚠️"}


def render_markdown(result: Mapping[str, Any]) -> str:
    """A compact Markdown summary: verdict, reasons, the key numbers, segments, months, method."""
    models = result["models"]
    chal, champ = models["challenger"], models["champion"]
    comparison = result["comparison"]
    lines = [
        f"## {result['use_case']}: {chal['label']} vs {champ['label']} — **{result['verdict']}**",
        "",
        f"Evaluation `{result['id']}` on {result['data']['rows']:,} rows "
        f"({result['data']['positives']:,} positive) from `{result['data']['ref']}`.",
        "",
        f"Saving per 1,000 decisions: **{fmt_interval(comparison['saving_per_1000'], 1)}**; "
        f"P(challenger cheaper) = **{comparison['probability_cheaper']:.3f}**.",
        "",
        "### Gates",
        "",
    ]
    lines += [f"- {_ICON.get(g['status'], '')} {g['reason']}" for g in result["gates"]] or ["- (no gates in the spec)"]
    lines += [
        "",
        "### Numbers (95% bootstrap intervals)",
        "",
        f"| metric | {chal['label']} (challenger) | {champ['label']} (champion) |",
        "|---|---|---|",
    ]
    for key, label in KEY_METRICS:
        a, b = chal["metrics"].get(key), champ["metrics"].get(key)
        if a or b:
            lines.append(f"| {label} | {fmt_interval(a)} | {fmt_interval(b)} |")
    lines.append(
        f"| chosen threshold | {threshold_text(chal.get('chosen_threshold'))} | "
        f"{threshold_text(champ.get('chosen_threshold')) if 'chosen_threshold' in champ else champ['label']} |"
    )
    trivial = result["trivial"]
    lines += [
        "",
        f"Trivial policies per 1,000: act on everyone {fmt(trivial['act_on_everyone']['per_1000'])}, "
        f"act on no one {fmt(trivial['act_on_no_one']['per_1000'])}.",
    ]
    if result["segments"]:
        lines += [
            "",
            "### Segments",
            "",
            "| segment | rows | challenger cost/1,000 | champion cost/1,000 |",
            "|---|---|---|---|",
        ]
        for seg in result["segments"]:
            lines.append(
                f"| {seg['name']} | {seg['rows']:,} | {fmt_interval(seg['models']['challenger'].get('cost_per_1000'))} "
                f"| {fmt_interval(seg['models']['champion'].get('cost_per_1000'))} |"
            )
    slices = result["stability"]["slices"]
    if slices:
        st = result["stability"]
        lines += [
            "",
            f"### By month ({st['column']})",
            "",
            f"The challenger is cheaper in {st['challenger_cheaper_in']} of {len(slices)} months "
            f"and dearer in {st['challenger_dearer_in']}.",
        ]
    lines += ["", f"**Is it worth it?** {result['worth_it']['note']}."]
    lines += [f"- {training_rows_line(c)}" for c in result.get("training_rows") or []]
    lines += ["", "<details><summary>Method</summary>", ""]
    lines += [f"- {result['method']['resampling']}", f"- {result['method']['threshold_selection']}", "", "</details>"]
    return "\n".join(lines) + "\n"
