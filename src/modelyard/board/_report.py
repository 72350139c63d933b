"""The research update: what changed on the board and in the registry since a date, as Markdown and HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.board._inputs import parse_since
from modelyard.board._render import page
from modelyard.board._views import saving_of
from modelyard.store import Store

if TYPE_CHECKING:
    from modelyard.board._board import Board

__all__ = ["ResearchReport", "build_report"]


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str


@dataclass(frozen=True)
class ResearchReport:
    """The research update of ``since`` to ``today``; ``write(folder)`` saves both forms."""

    since: date
    today: date
    sections: list[Section]

    @property
    def title(self) -> str:
        return f"Research update {self.since.isoformat()} to {self.today.isoformat()}"

    @property
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for s in self.sections:
            out += [f"## {s.title}", ""]
            if not s.rows:
                out += [f"_{s.empty}_", ""]
                continue
            out.append("| " + " | ".join(s.columns) + " |")
            out.append("|" + "---|" * len(s.columns))
            for row in s.rows:
                out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |")
            out.append("")
        return "\n".join(out)

    @property
    def html(self) -> str:
        body = []
        for s in self.sections:
            body.append(f"<h2>{html.escape(s.title)}</h2>")
            if not s.rows:
                body.append(f"<p><i>{html.escape(s.empty)}</i></p>")
                continue
            head = "".join(f"<th>{html.escape(c)}</th>" for c in s.columns)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in s.rows)
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        return page(self.title, "\n".join(body))

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``research-update-<today>.md`` and ``.html`` into ``folder``; returns both paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"research-update-{self.today.isoformat()}"
        md, page_path = out / f"{stem}.md", out / f"{stem}.html"
        md.write_text(self.markdown, encoding="utf-8")
        page_path.write_text(self.html, encoding="utf-8")
        return md, page_path


_LEVEL = 0.95  # the evaluation's default interval level, named once in the column's title


def _saving(result: dict[str, Any]) -> str:
    saving = saving_of(result)
    if saving is None:
        return "—"
    other = saving.level is not None and saving.level != _LEVEL and saving.low is not None
    return f"{saving} ({saving.level:.0%} interval)" if other else str(saving)


def _baseline(result: dict[str, Any], champion: int | None) -> str:
    if champion is not None:
        return f"v{champion}"
    comparison = result.get("comparison")
    baseline = comparison.get("baseline") if isinstance(comparison, dict) else None
    return str(baseline) if baseline else "—"


def build_report(board: Board, since: str | timedelta | date, *, today: date, weeks: int) -> ResearchReport:
    start_day = parse_since(since, today)
    start = datetime.combine(start_day, time(), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)  # through the end of today (UTC)
    items = {i.id: i for i in board.items()}
    updates = [u for u in board.updates(since=start_day) if u.at < end]
    with board.store.reading() as conn:
        versions = [v for v in Store.list_versions(conn) if start <= v.created_at < end]
        evaluations = [
            e
            for u in Store.list_use_cases(conn)
            for e in Store.list_evaluations(conn, u.name)
            if start <= e.created_at < end
        ]

    moves = [
        (
            u.at.strftime("%Y-%m-%d"),
            f"{u.item_id} {items[u.item_id].title}",
            f"{u.from_stage.value if u.from_stage else '·'} → {u.to_stage.value if u.to_stage else '·'}",
            u.author,
            u.text,
        )
        for u in updates
        if u.kind in ("stage", "created")
    ]
    candidates = [
        (v.created_at.strftime("%Y-%m-%d"), v.ref, v.stage.value, v.author, v.research_item or "—", v.description or "")
        for v in versions
    ]
    verdicts = [
        (
            e.created_at.strftime("%Y-%m-%d"),
            f"{e.use_case}/v{e.challenger_version}",
            _baseline(e.result, e.champion_version),
            e.verdict,
            _saving(e.result),
        )
        for e in evaluations
    ]
    notes = [
        (u.at.strftime("%Y-%m-%d"), u.item_id, u.author, u.text)
        for u in updates
        if u.kind in ("note", "feasibility", "link", "model")
    ]
    overdue = [
        (i.id, i.title, i.owner, i.stage.value, i.expected_drop.isoformat(), f"{(today - i.expected_drop).days} days")
        for i in items.values()
        if i.overdue(today) and i.expected_drop is not None
    ]
    radar = board.radar(weeks, today=today)
    coming = [
        (s.label, f"{e.item.id} {e.item.title}", e.item.owner, "; ".join(x.summary for x in e.effort) or "no model yet")
        for s in radar.sprints
        for e in s.entries
    ]
    sections = [
        Section("Stage changes", ("when", "item", "move", "who", "why"), moves, "No item changed stage."),
        Section(
            "New candidates",
            ("when", "version", "stage", "author", "research item", "description"),
            candidates,
            "No model was registered.",
        ),
        Section(
            "Evaluation verdicts",
            (
                "when",
                "challenger",
                "champion",
                "verdict",
                f"saving per 1,000 decisions [{_LEVEL:.0%} interval]",
            ),
            verdicts,
            "No evaluation was run.",
        ),
        Section(
            "Overdue against their expected drop",
            ("item", "title", "owner", "stage", "expected", "late by"),
            overdue,
            "Nothing is overdue.",
        ),
        Section("Notes", ("when", "item", "who", "what"), notes, "No notes."),
        Section(
            f"Coming up in the next {weeks} weeks",
            ("sprint", "item", "owner", "integration effort"),
            coming,
            "Nothing is expected to drop.",
        ),
    ]
    return ResearchReport(start_day, today, sections)
