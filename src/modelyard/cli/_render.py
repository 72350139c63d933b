"""How the CLI shows things: Rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from modelyard._yard import UseCaseSummary
from modelyard.store import ModelVersion, Stage, StageChange

__all__ = [
    "STAGE_STYLE",
    "console",
    "err_console",
    "plain",
    "print_json",
    "stage_changes_table",
    "stage_text",
    "use_cases_table",
    "version_details",
    "versions_table",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STAGE_STYLE: dict[Stage, str] = {
    Stage.CANDIDATE: "cyan",
    Stage.SHADOW: "magenta",
    Stage.CANARY: "yellow",
    Stage.PRODUCTION: "bold green",
    Stage.ARCHIVED: "dim",
    Stage.RETIRED: "red",
}


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def stage_text(stage: Stage | None) -> str:
    """The stage as Rich markup, in its colour."""
    if stage is None:
        return "—"
    return f"[{STAGE_STYLE[stage]}]{stage.value}[/]"


def plain(value: object) -> Text:
    """A table cell shown as written: '[' in a name, reason or description is text, not markup."""
    return Text(str(value))


def use_cases_table(summaries: Iterable[UseCaseSummary]) -> Table:
    table = Table(title="Use cases", title_justify="left")
    for col in ("use case", "task", "versions", "production", "canary", "shadow", "description"):
        table.add_column(col, justify="right" if col in {"versions", "production", "canary"} else "left")
    for s in summaries:
        table.add_row(
            plain(s.name),
            plain(s.task) if s.task else "[red]spec missing[/]",
            str(s.versions),
            f"v{s.production}" if s.production else "—",
            f"v{s.canary}" if s.canary else "—",
            ", ".join(f"v{v}" for v in s.shadows) or "—",
            plain(s.description or ""),
        )
    return table


_VERSION_COLUMNS = (
    "use case",
    "version",
    "stage",
    "flavor",
    "threshold",
    "author",
    "research",
    "created (UTC)",
    "sha256",
)
_DROPPED_FIRST = ("sha256", "created (UTC)", "research", "threshold", "use case")
"""The columns a narrow terminal loses, in this order, before a value is broken mid-word
(``models show`` has them all)."""


def versions_table(versions: Iterable[ModelVersion], title: str = "Model versions", width: int | None = None) -> Table:
    """One row per version; columns that would not fit ``width`` (the console's) are left out."""
    versions = list(versions)
    width = width or console.width
    columns = list(_VERSION_COLUMNS)
    table = _versions_table(versions, title, columns)
    for name in _DROPPED_FIRST:
        if _natural_width(table) <= width:
            break
        columns.remove(name)
        table = _versions_table(versions, title, columns)
    return table


def _natural_width(table: Table) -> int:
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update(width=10_000), table).maximum


def _versions_table(versions: list[ModelVersion], title: str, columns: list[str]) -> Table:
    table = Table(title=escape(title), title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col in {"version", "threshold"} else "left", overflow="fold")
    for v in versions:
        cells = {
            "use case": plain(v.use_case),
            "version": f"v{v.version}",
            "stage": stage_text(v.stage),
            "flavor": plain(f"{v.flavor} ({v.format})"),
            "threshold": f"{v.threshold:.3f}",
            "author": plain(v.author),
            "research": plain(v.research_item or "—"),
            "created (UTC)": v.created_at.strftime("%Y-%m-%d %H:%M"),
            "sha256": v.artifact_sha256[:12],
        }
        table.add_row(*(cells[col] for col in columns))
    return table


def version_details(v: ModelVersion, location: str | None = None) -> Table:
    """One version's fields; ``location`` is where its artifact is now (the yard may have moved)."""
    table = Table(show_header=False, box=None, padding=(0, 2), title=escape(v.ref), title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    inputs = v.signature.get("inputs", [])
    rows: list[tuple[str, str | Text]] = [
        ("stage", stage_text(v.stage)),
        ("flavor", f"{v.flavor} ({v.format})"),
        ("threshold", f"{v.threshold:g}"),
        ("artifact", f"{location or v.artifact_uri}  ({v.artifact_size:,} bytes)"),
        ("sha256", v.artifact_sha256),
        ("author", v.author),
        ("created", v.created_at.isoformat(timespec="seconds")),
        (
            "git commit",
            f"{v.git_commit}{' (uncommitted changes)' if v.git_dirty else ''}" if v.git_commit else "—",
        ),
        ("training data", v.training_data_hash or "—"),
        ("snapshot", v.snapshot_id or "—"),
        ("research item", v.research_item or "—"),
        ("spec sha256", v.spec_sha256[:12]),
        ("inputs", ", ".join(f"{c['name']}:{c['dtype']}" for c in inputs) or "—"),
        ("params", ", ".join(f"{k}={val}" for k, val in sorted(v.params.items())) or "—"),
        ("tags", ", ".join(f"{k}={val}" for k, val in sorted(v.tags.items())) or "—"),
    ]
    if v.description:
        rows.append(("description", v.description))
    for key, value in rows:
        table.add_row(key, value if key == "stage" else plain(value))
    return table


def stage_changes_table(changes: Iterable[StageChange], title: str, width: int | None = None) -> Table:
    """The audit trail, one row per change. Narrower than it needs (``width``, the console's by
    default), it drops the borders and shows each move as one cell, so dates and stages stay whole."""
    changes = list(changes)
    table = Table(title=escape(title), title_justify="left")
    for col in ("when (UTC)", "version", "from", "to", "who", "why"):
        table.add_column(col)
    for c in changes:
        table.add_row(
            c.at.strftime("%Y-%m-%d %H:%M:%S"),
            f"v{c.version}",
            stage_text(c.from_stage),
            stage_text(c.to_stage),
            plain(c.actor),
            plain(c.reason),
        )
    if _natural_width(table) <= (width or console.width):
        return table
    compact = Table(title=escape(title), title_justify="left", box=None, padding=(0, 1), show_edge=False)
    compact.add_column("when (UTC)", no_wrap=True)
    compact.add_column("change", no_wrap=True)
    compact.add_column("who, why", ratio=1, overflow="fold")
    for c in changes:
        start = f"{stage_text(c.from_stage)} → " if c.from_stage is not None else ""
        move = f"v{c.version} {start}{stage_text(c.to_stage)}"
        compact.add_row(c.at.strftime("%Y-%m-%d %H:%M"), move, Text.assemble((c.actor, "bold"), ": ", c.reason))
    return compact
