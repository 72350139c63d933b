"""The evaluation as one self-contained HTML file: inline CSS, plots as base64 PNG."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from modelyard.evaluate._format import KEY_METRICS, fmt, fmt_interval, threshold_text, training_rows_line
from modelyard.evaluate._plots import all_plots

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;color:#fff;font-weight:bold}
.PROMOTE{background:#2e7d32}.HOLD{background:#f9a825}.BLOCK{background:#c62828}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.pass{color:#2e7d32}.fail{color:#c62828}.uncertain{color:#b07d00}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem}
.plots img{width:100%;border:1px solid #eee}.note{color:#555;font-size:.9rem}
"""

_MARK = {"pass": "✔", "fail": "✘", "uncertain": "?"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(result: Mapping[str, Any]) -> str:
    """The full report; open it in any browser, offline."""
    models = result["models"]
    chal, champ = models["challenger"], models["champion"]
    comparison = result["comparison"]
    title = f"{result['use_case']}: {chal['label']} vs {champ['label']}"
    verdict = escape(result["verdict"])
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)} <span class='verdict {verdict}'>{verdict}</span></h1>",
        f"<p class='note'>Evaluation {escape(result['id'])}, {escape(result['created_at'])}, on "
        f"{result['data']['rows']:,} rows ({result['data']['positives']:,} positive) from "
        f"{escape(str(result['data']['ref']))}.</p>",
        f"<p>Saving per 1,000 decisions (champion minus challenger): <b>"
        f"{escape(fmt_interval(comparison['saving_per_1000'], 1))}</b>; probability that the challenger is "
        f"cheaper: <b>{comparison['probability_cheaper']:.3f}</b> (baseline: {escape(comparison['baseline'])}).</p>",
        "<h2>Gates</h2><ul>",
    ]
    for gate in result["gates"]:
        status = gate["status"]
        parts.append(f"<li class='{status}'>{_MARK.get(status, '')} {escape(gate['reason'])}</li>")
    if not result["gates"]:
        parts.append("<li>(the spec has no gates)</li>")
    parts.append("</ul><h2>Numbers</h2>")
    rows = []
    for key, label in KEY_METRICS:
        a, b = chal["metrics"].get(key), champ["metrics"].get(key)
        if a or b:
            rows.append([label, fmt_interval(a), fmt_interval(b)])
    rows.append(
        [
            "chosen threshold",
            threshold_text(chal.get("chosen_threshold")),
            threshold_text(champ.get("chosen_threshold")) if "chosen_threshold" in champ else champ["label"],
        ]
    )
    rows.append(
        [
            "cost per 1,000 at the threshold in use",
            _in_use(chal),
            _in_use(champ),
        ]
    )
    parts.append(
        _table(["metric (95% interval)", f"{chal['label']} (challenger)", f"{champ['label']} (champion)"], rows)
    )
    trivial = result["trivial"]
    parts.append(
        f"<p class='note'>Trivial policies per 1,000 decisions: act on everyone "
        f"{fmt(trivial['act_on_everyone']['per_1000'])}, act on no one {fmt(trivial['act_on_no_one']['per_1000'])}.</p>"
    )
    parts.append("<h2>Plots</h2><div class='plots'>")
    for plot_title, uri in all_plots(result):
        parts.append(f"<figure><img alt='{escape(plot_title)}' src='{uri}'></figure>")
    parts.append("</div>")
    if result["segments"]:
        parts.append("<h2>Segments</h2>")
        seg_rows = []
        for seg in result["segments"]:
            for role in ("challenger", "champion"):
                ms = seg["models"][role]
                seg_rows.append(
                    [
                        f"{seg['name']} ({seg.get('filter', '')})",
                        f"{models[role]['label']}",
                        f"{seg['rows']:,}",
                        fmt_interval(ms.get("cost_per_1000"), 1),
                        fmt_interval(ms.get("false_positive_rate")),
                        fmt_interval(ms.get("recall")),
                        fmt_interval(ms.get("roc_auc")),
                    ]
                )
        parts.append(
            _table(["segment", "model", "rows", "cost per 1,000", "false-positive rate", "recall", "ROC AUC"], seg_rows)
        )
    st = result["stability"]
    if st["slices"]:
        parts.append(
            f"<h2>By month of {escape(str(st['column']))}</h2><p>The challenger is cheaper in "
            f"{st['challenger_cheaper_in']} of {len(st['slices'])} months and dearer in "
            f"{st['challenger_dearer_in']}.</p>"
        )
        parts.append(
            _table(
                ["month", "rows", "positives", "challenger cost/1,000", "champion cost/1,000", "saving/1,000"],
                [
                    [
                        s["period"],
                        f"{s['rows']:,}",
                        f"{s['positives']:,}",
                        fmt(s["challenger_cost_per_1000"]),
                        fmt(s["champion_cost_per_1000"]),
                        fmt(s["saving_per_1000"]),
                    ]
                    for s in st["slices"]
                ],
            )
        )
    worth = result["worth_it"]
    parts.append(f"<h2>Is it worth it?</h2><p>{escape(worth['note'])}.</p>")
    parts.append(
        _table(
            ["option", "cost per 1,000", "artifact MB", "latency p99 ms"],
            [
                [
                    f"{o['label']} ({o['role']})",
                    fmt_interval(o["cost_per_1000"], 1),
                    fmt(o.get("artifact_mb")),
                    fmt(o.get("latency_p99_ms")),
                ]
                for o in worth["options"]
            ],
        )
    )
    method = result["method"]
    checks = [f"<li>{escape(training_rows_line(c))}</li>" for c in result.get("training_rows") or []]
    if checks:
        parts.append("<h2>Training rows in the data</h2><ul>" + "".join(checks) + "</ul>")
    parts.append(
        f"<h2>Method</h2><ul><li>{escape(method['resampling'])} {method['replicates']:,} replicates, seed "
        f"{method['seed']}.</li><li>{escape(method['threshold_selection'])}</li>"
        f"<li>Decision rule: {escape(method['decision_rule'])}.</li></ul>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _in_use(entry: Mapping[str, Any]) -> str:
    at = entry.get("cost_at_threshold_in_use")
    if not at:
        return "n/a"
    return f"{fmt(at['per_1000'])} (threshold {fmt(entry.get('threshold_in_use'))})"
