"""How the board looks: Rich renderables for the terminal, self-contained HTML for the browser."""

from __future__ import annotations

import html
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modelyard.board._records import ItemStage, ResearchItem, Risk, Update
from modelyard.board._views import Kanban, Portfolio, Radar

if TYPE_CHECKING:  # scipy and scikit-learn, imported only when a study runs
    from modelyard.board._feasibility import FeasibilityResult

__all__ = [
    "feasibility_table",
    "item_details",
    "item_html",
    "kanban_html",
    "kanban_table",
    "portfolio_table",
    "radar_table",
]

STAGE_STYLE = {
    ItemStage.IDEA: "white",
    ItemStage.EXPLORING: "cyan",
    ItemStage.PRODUCTIONIZING: "yellow",
    ItemStage.SHIPPED: "bold green",
    ItemStage.DROPPED: "dim",
}


def _card(item: ResearchItem, today: date) -> Panel:
    risk = "[red]risky[/]" if item.risk == Risk.RISKY else "[green]safe[/]"
    lines = [f"[bold]{escape(item.id)}[/] {escape(item.title)}", f"{escape(item.owner)} · {risk}"]
    if item.expected_drop:
        late = " [red](overdue)[/]" if item.overdue(today) else ""
        lines.append(f"drop {item.expected_drop.isoformat()}{late}")
    if item.links:
        lines.append("models " + escape(", ".join(link.ref for link in item.links)))
    return Panel("\n".join(lines), border_style=STAGE_STYLE[item.stage], padding=(0, 1))


def kanban_table(kanban: Kanban, today: date | None = None) -> Table:
    """The Kanban as Rich columns, one card per item (overdue drops in red)."""
    day = today or date.today()
    table = Table(title="Research board", title_justify="left", expand=True, show_lines=False)
    for stage, items in kanban.columns.items():
        table.add_column(f"[{STAGE_STYLE[stage]}]{stage.value}[/] ({len(items)})", ratio=1, vertical="top")
    table.add_row(
        *[
            Group(*[_card(i, day) for i in items]) if items else Text("—", style="dim")
            for items in kanban.columns.values()
        ]
    )
    return table


def _facts(item: ResearchItem) -> list[tuple[str, str]]:
    return [
        ("stage", item.stage.value),
        ("hypothesis", item.hypothesis or "—"),
        ("use case", item.use_case or "—"),
        ("owner", f"{item.owner} (team {item.team})"),
        ("risk", item.risk.value),
        ("target", str(item.target) if item.target else "—"),
        ("expected drop", item.expected_drop.isoformat() if item.expected_drop else "—"),
        ("quarter", item.quarter or "—"),
        ("models", ", ".join(link.ref for link in item.links) or "—"),
    ]


_HISTORY_COLUMNS = ("when (UTC)", "kind", "move", "who", "what")


def _history(updates: list[Update]) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            u.at.strftime("%Y-%m-%d %H:%M"),
            u.kind,
            f"{u.from_stage.value if u.from_stage else '·'} → {u.to_stage.value}" if u.to_stage else "",
            u.author,
            u.text,
        )
        for u in updates
    ]


def item_details(item: ResearchItem, updates: list[Update]) -> Group:
    """One item's facts and its dated updates, for the terminal."""
    facts = Table(
        show_header=False, box=None, padding=(0, 2), title=escape(f"{item.id} {item.title}"), title_justify="left"
    )
    facts.add_column(style="bold")
    facts.add_column()
    for key, value in _facts(item):
        facts.add_row(key, Text(value, style=STAGE_STYLE[item.stage]) if key == "stage" else Text(value))
    history = Table(title="Updates", title_justify="left")
    for col in _HISTORY_COLUMNS:
        history.add_column(col, overflow="fold")
    for row in _history(updates):
        history.add_row(*(Text(cell) for cell in row))
    return Group(facts, history)


def item_html(item: ResearchItem, updates: list[Update]) -> str:
    """A self-contained HTML page of one item: its facts and its dated updates."""
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _facts(item))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _HISTORY_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in _history(updates)
    )
    body = f"<table>{facts}</table>\n<h2>Updates</h2>\n<table><tr>{head}</tr>{rows}</table>"
    return page(f"{item.id} {item.title}", body)


def portfolio_table(portfolio: Portfolio) -> Table:
    """Risky shares per owner, team and overall, each marked ok, too safe or too risky."""
    table = Table(
        title=f"Risky share of open items (policy {portfolio.risky_min:.0%}–{portfolio.risky_max:.0%})",
        title_justify="left",
    )
    for col in ("by", "name", "open items", "risky", "share", "status"):
        table.add_column(col, justify="right" if col in ("open items", "risky", "share") else "left")
    for r in portfolio.rows:
        style = "green" if r.status == "ok" else "red"
        table.add_row(
            Text(r.group), Text(r.name), str(r.items), str(r.risky), f"{r.share:.0%}", f"[{style}]{r.status}[/]"
        )
    return table


def radar_table(radar: Radar) -> Table:
    """The drop radar: overdue items first, then each sprint's items with their integration effort."""
    table = Table(title=f"Drop radar: {radar.today.isoformat()} to {radar.until.isoformat()}", title_justify="left")
    for col in ("sprint", "item", "drop", "owner", "risk", "stage", "integration effort"):
        table.add_column(col, overflow="fold")
    groups = [("[red]overdue[/]", radar.overdue)] + [(s.label, s.entries) for s in radar.sprints]
    for label, entries in groups:
        for k, entry in enumerate(entries):
            item = entry.item
            effort = escape("\n".join(e.summary for e in entry.effort)) or "[dim]no model yet[/]"
            table.add_row(
                label if k == 0 else "",
                Text(f"{item.id} {item.title}"),
                item.expected_drop.isoformat() if item.expected_drop else "—",
                Text(item.owner),
                item.risk.value,
                item.stage.value,
                effort,
            )
    return table


def feasibility_table(result: FeasibilityResult) -> Table:
    """Expected metric at today's size, 2×, 5× and the ceiling, with intervals and chances of the target."""
    table = Table(
        title=escape(
            f"Feasibility of {result.target} on {result.use_case} ({result.rows:,} rows, {result.level:.0%} intervals)"
        ),
        title_justify="left",
        caption=escape(f"split: {result.split.description}"),
        caption_justify="left",
    )
    for col in ("data", "rows", "expected", "interval", f"P({result.target})", "best baseline"):
        table.add_column(escape(col), justify="left" if col in ("data", "best baseline") else "right")
    for p in result.predictions:
        rows = "∞" if p.label == "ceiling" else f"{int(p.rows):,}"
        if p.estimate is None or p.low is None or p.high is None or p.probability is None:
            why = (p.note or "").removeprefix("unknown: ") or p.model
            table.add_row(p.label, rows, "unknown", "—", "—", Text(why))
            continue
        table.add_row(
            p.label,
            rows,
            f"{p.estimate:.3f}",
            Text(f"[{p.low:.3f}, {p.high:.3f}]"),
            f"{p.probability:.0%}",
            Text(p.model),
        )
    return table


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
.board{display:grid;grid-template-columns:repeat(5,1fr);gap:.8rem}
.col{background:#f4f5f7;border-radius:6px;padding:.5rem}
.col h2{font-size:1rem;margin:.2rem 0 .6rem;text-transform:capitalize}
.card{background:#fff;border-radius:4px;padding:.5rem;margin-bottom:.5rem;box-shadow:0 1px 2px #0002;font-size:.85rem}
.risky{border-left:4px solid #d62728}.safe{border-left:4px solid #2ca02c}
.meta{color:#666;font-size:.8rem}.late{color:#d62728;font-weight:bold}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
"""


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def kanban_html(kanban: Kanban, today: date | None = None) -> str:
    """A self-contained HTML page of the board."""
    day = today or date.today()
    cols = []
    for stage, items in kanban.columns.items():
        cards = []
        for i in items:
            drop = ""
            if i.expected_drop:
                late = ' <span class="late">overdue</span>' if i.overdue(day) else ""
                drop = f"<div class=meta>drop {i.expected_drop.isoformat()}{late}</div>"
            models = (
                f"<div class=meta>models {html.escape(', '.join(link.ref for link in i.links))}</div>"
                if i.links
                else ""
            )
            cards.append(
                f'<div class="card {i.risk.value}"><b>{html.escape(i.id)}</b> {html.escape(i.title)}'
                f"<div class=meta>{html.escape(i.owner)} · {i.risk.value}</div>{drop}{models}</div>"
            )
        cols.append(f'<div class="col"><h2>{stage.value} ({len(items)})</h2>{"".join(cards)}</div>')
    return page("Research board", f'<div class="board">{"".join(cols)}</div>')
