"""The evaluation as a Rich summary for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modelyard.evaluate._format import KEY_METRICS, fmt_interval, threshold_text, training_rows_line

__all__ = ["print_summary", "summary"]

_STYLE = {"PROMOTE": "bold green", "HOLD": "bold yellow", "BLOCK": "bold red"}
_STATUS = {"pass": "[green]✔[/]", "fail": "[red]✘[/]", "uncertain": "[yellow]?[/]"}


def summary(result: Mapping[str, Any], report_path: Path | str | None = None) -> Panel:
    """A panel: verdict, the saving, the key numbers for both models, one line per gate."""
    models = result["models"]
    chal, champ = models["challenger"], models["champion"]
    comparison = result["comparison"]
    table = Table(title_justify="left", expand=False)
    table.add_column("metric (95% interval)")
    table.add_column(f"{chal['label']} challenger", justify="right")
    table.add_column(f"{champ['label']} champion", justify="right")
    for key, label in KEY_METRICS:
        a, b = chal["metrics"].get(key), champ["metrics"].get(key)
        if a or b:
            table.add_row(label, fmt_interval(a), fmt_interval(b))
    table.add_row(
        "chosen threshold",
        threshold_text(chal.get("chosen_threshold")),
        threshold_text(champ.get("chosen_threshold")) if "chosen_threshold" in champ else champ["label"],
    )
    head = Text.assemble(
        ("Verdict: ", "bold"),
        (result["verdict"], _STYLE.get(result["verdict"], "bold")),
        f"   saving per 1,000 decisions {fmt_interval(comparison['saving_per_1000'], 1)}, "
        f"P(cheaper) = {comparison['probability_cheaper']:.3f} vs {comparison['baseline']}",
    )
    gates = [Text.from_markup(f"{_STATUS.get(g['status'], '')} ") + Text(g["reason"]) for g in result["gates"]]
    lines: list[Any] = [head, table, *gates, Text(result["worth_it"]["note"], style="dim")]
    lines += [Text(training_rows_line(check), style="dim") for check in result.get("training_rows") or []]
    if report_path:
        lines.append(Text(f"report: {report_path}", style="cyan"))
    title = f"{result['use_case']}: {chal['label']} vs {champ['label']} on {result['data']['rows']:,} rows"
    return Panel(Group(*lines), title=title, border_style=_STYLE.get(result["verdict"], "white").split()[-1])


def print_summary(result: Mapping[str, Any], console: Console, report_path: Path | str | None = None) -> None:
    console.print(summary(result, report_path))
