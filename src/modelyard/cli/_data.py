"""``modelyard snapshot`` and ``modelyard score``: production data through production code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelyard._exceptions import UsageError
from modelyard.cli._common import JsonFlag, check_version, friendly, open_cli_yard
from modelyard.cli._render import console, plain, print_json

__all__ = ["register_commands"]


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a date; write it as YYYY-MM-DD (e.g. {option} 2024-01-01)"
        ) from None


def register_commands(app: typer.Typer) -> None:
    """Add ``snapshot`` and ``score`` to the CLI."""

    @app.command("snapshot")
    @friendly
    def snapshot(
        use_case: Annotated[str, typer.Argument(help="Use case to snapshot, or 'list' to list snapshots.")],
        start: Annotated[str | None, typer.Option("--from", help="First day (inclusive), YYYY-MM-DD.")] = None,
        end: Annotated[str | None, typer.Option("--to", help="Last bound (exclusive), YYYY-MM-DD.")] = None,
        only: Annotated[str | None, typer.Option("--use-case", help="With 'list': only this use case.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Snapshot production data through the feature code (content-hashed), or list snapshots."""
        from modelyard.data import build_snapshot, list_snapshots

        with open_cli_yard() as yard:
            if use_case == "list":
                if start is not None or end is not None:
                    raise UsageError("--from/--to choose what a new snapshot holds; 'snapshot list' lists them all")
                snaps = list_snapshots(yard, only)
                if only is not None and not snaps:
                    yard.use_case(only)  # an unknown name: say so (with the names it may have meant)
                if as_json:
                    print_json([s.to_dict() for s in snaps])
                    return
                table = Table(title="Snapshots", title_justify="left")
                for col in ("id", "use case", "rows", "range", "feature code", "created (UTC)"):
                    table.add_column(col, justify="right" if col == "rows" else "left")
                for s in snaps:
                    first = s.range_start.date() if s.range_start else "…"
                    rng = f"{first} → {s.range_end.date() if s.range_end else '…'}"
                    table.add_row(
                        plain(s.short_id),
                        plain(s.use_case),
                        f"{s.row_count:,}",
                        rng,
                        plain(s.feature_code),
                        f"{s.created_at:%Y-%m-%d %H:%M}",
                    )
                console.print(table if snaps else "No snapshots yet: modelyard snapshot USECASE --from --to")
                return
            if only is not None:
                raise UsageError(f"--use-case filters 'snapshot list'; to snapshot {only!r}: modelyard snapshot {only}")
            progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=as_json,
            )
            with progress:
                task = progress.add_task(f"snapshot {escape(use_case)}", total=None)

                def tick(name: str, done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total or None, description=f"snapshot {escape(name)}")

                snap = build_snapshot(
                    yard, use_case, start=_date(start, "--from"), end=_date(end, "--to"), progress=tick
                )
        if as_json:
            print_json(snap.to_dict())
        else:
            console.print(
                f"[green]snapshot[/] {snap.short_id} of {escape(snap.use_case)}: {snap.row_count:,} rows, "
                f"{len(snap.columns)} columns, feature code {escape(snap.feature_code)} → {escape(str(snap.path))}",
                soft_wrap=True,
            )

    @app.command("score")
    @friendly
    def score(
        use_case: str,
        version: Annotated[str, typer.Argument(help="A number, a stage (production) or latest.")],
        data: Annotated[str, typer.Option("--data", help="A snapshot id, a file/glob of raw rows, or 'source'.")],
        out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
        chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.", min=1)] = 100_000,
        engine: Annotated[str, typer.Option(help="local (chunks in this process) or spark (mapInPandas).")] = "local",
        master: Annotated[str, typer.Option(help="Spark master, with --engine spark.")] = "local[2]",
        as_json: JsonFlag = False,
    ) -> None:
        """Score a snapshot or a source with a version, chunk by chunk, into Parquet."""
        from modelyard.data import score_batch, score_with_spark

        if engine not in ("local", "spark"):
            raise UsageError(f"--engine {engine!r} is not an engine; use local or spark")
        check_version(version)  # --out is checked by score_batch/score_with_spark, against the files read
        with open_cli_yard() as yard:
            if engine == "spark":
                with console.status("scoring on Spark", spinner="dots"):
                    summary = score_with_spark(yard, use_case, version, data, out, master=master)
                if as_json:
                    print_json(summary.__dict__)
                else:
                    console.print(
                        f"[green]scored[/] {summary.rows:,} rows on Spark with v{summary.version} → "
                        f"{escape(str(summary.out))}/"
                    )
                return
            progress = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TextColumn("{task.completed:,} rows"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=as_json,
            )
            with progress:
                task = progress.add_task("score", total=None)
                summary = score_batch(
                    yard,
                    use_case,
                    version,
                    data,
                    out,
                    chunk_rows=chunk_rows,
                    progress=lambda n: progress.advance(task, n),
                )
        if as_json:
            print_json(summary.__dict__)
        else:
            console.print(
                f"[green]scored[/] {summary.rows:,} rows of {escape(use_case)} with v{summary.version} "
                f"({summary.positives:,} decisions to act) → {escape(str(summary.out))}"
            )
