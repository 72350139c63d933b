"""``modelyard board …`` and ``modelyard feasibility``: thin commands over :mod:`modelyard.board`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from modelyard.cli._common import (
    JsonFlag,
    Reason,
    check_output,
    check_version,
    friendly,
    input_paths,
    open_cli_yard,
    write_output,
    writing,
)
from modelyard.cli._render import console, print_json

__all__ = ["register_commands"]

board_app = typer.Typer(
    help="The research board: items, moves, notes, Kanban, portfolio, radar, report.", no_args_is_help=True
)


@board_app.command("add")
@friendly
def board_add(
    title: Annotated[str, typer.Argument(help="What the research is, in a few words.")],
    hypothesis: Annotated[str, typer.Option(help="What we believe and will test.")] = "",
    use_case: Annotated[str | None, typer.Option("--use-case", help="The use case it serves.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who leads it (default: MODELYARD_AUTHOR).")] = None,
    team: Annotated[str | None, typer.Option(help="Their team (default: the part of --owner after '@').")] = None,
    risk: Annotated[str, typer.Option(help="safe or risky.")] = "safe",
    target: Annotated[
        str | None, typer.Option(help="METRIC OP VALUE, e.g. 'roc_auc>=0.80', 'cost_saving>=20000'.")
    ] = None,
    drop: Annotated[str | None, typer.Option("--drop", help="Expected drop date, YYYY-MM-DD.")] = None,
    quarter: Annotated[str | None, typer.Option(help="YYYYQn (default: the drop date's quarter).")] = None,
    stage: Annotated[str, typer.Option(help="idea, exploring or productionizing.")] = "idea",
    as_json: JsonFlag = False,
) -> None:
    """Put a new research item on the board."""
    from modelyard.board import Board

    with open_cli_yard(create=True) as yard:
        item = Board(yard).add_item(
            title,
            hypothesis=hypothesis,
            use_case=use_case,
            owner=owner,
            team=team,
            risk=risk,
            target=target,
            expected_drop=drop,
            quarter=quarter,
            stage=stage,
        )
    if as_json:
        print_json(item.to_dict())
    else:
        linked = f", linked {', '.join(link.ref for link in item.links)}" if item.links else ""
        console.print(
            f"[green]added[/] {item.id} {escape(item.title)} ({item.stage.value}, {item.risk.value}{escape(linked)})",
            soft_wrap=True,
        )


@board_app.command("move")
@friendly
def board_move(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="RI-<number>.")],
    stage: Annotated[str, typer.Argument(help="idea, exploring, productionizing, shipped or dropped.")],
    reason: Reason = "",
    as_json: JsonFlag = False,
) -> None:
    """Move an item to another stage (forward, one step back, or dropped)."""
    from modelyard.board import Board

    with open_cli_yard() as yard:
        before = Board(yard).item(item_id).stage
        item = Board(yard).move(item_id, stage, reason=reason)
    if as_json:
        print_json(item.to_dict())
    else:
        console.print(f"{item.id}: {before.value} → {item.stage.value}  ({escape(reason.strip())})", soft_wrap=True)


@board_app.command("note")
@friendly
def board_note(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="RI-<number>.")],
    text: Annotated[str, typer.Argument(help="What changed.")],
    as_json: JsonFlag = False,
) -> None:
    """Add a dated update to an item."""
    from modelyard.board import Board

    with open_cli_yard() as yard:
        update = Board(yard).note(item_id, text)
    if as_json:
        print_json(update.to_dict())
    else:
        console.print(f"[green]noted[/] on {update.item_id} ({update.at:%Y-%m-%d %H:%M} UTC)")


@board_app.command("link")
@friendly
def board_link(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="RI-<number>.")],
    use_case: str,
    version: Annotated[str, typer.Argument(help="A version number (3 or v3).")],
    as_json: JsonFlag = False,
) -> None:
    """Link a registered version to an item (as if it had been registered with --research-item)."""
    from modelyard.board import Board

    with open_cli_yard() as yard:
        board = Board(yard)
        before = board.item(item_id).stage
        item = board.link(item_id, use_case, check_version(version))
        stage = yard.model(use_case, check_version(version)).stage.value
    if as_json:
        print_json(item.to_dict())
    else:
        why = (
            f"; {escape(use_case)}/{escape(version)} is {stage}, so it does not move the item"
            if (stage in ("retired", "archived") and item.stage == before)
            else ""
        )
        console.print(
            f"[green]linked[/] {escape(use_case)}/{escape(version)} to {item.id} (now {item.stage.value}{why})",
            soft_wrap=True,
        )


@board_app.command("show")
@friendly
def board_show(
    item_id: Annotated[str | None, typer.Argument(metavar="[ITEM]", help="One item; the whole Kanban without.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the Kanban (or the item) as an HTML page here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The Kanban, or one item with its models and updates."""
    from modelyard.board import Board, kanban_html, kanban_table
    from modelyard.board._render import item_details, item_html

    if html is not None:
        check_output(html, "--html", example="board.html")
    with open_cli_yard() as yard:
        board = Board(yard)
        if item_id is not None:
            item = board.item(item_id)
            updates = board.updates(item.id)
            if html is not None:
                write_output(html, "--html", item_html(item, updates))
            if as_json:
                print_json({**item.to_dict(), "updates": [u.to_dict() for u in updates]})
            else:
                console.print(item_details(item, updates))
                if html is not None:
                    console.print(f"wrote {escape(str(html))}")
            return
        kanban = board.kanban()
    if html is not None:
        write_output(html, "--html", kanban_html(kanban))
    if as_json:
        print_json(kanban.to_dict())
    else:
        console.print(kanban_table(kanban))
        if html is not None:
            console.print(f"wrote {escape(str(html))}")


@board_app.command("portfolio")
@friendly
def board_portfolio(as_json: JsonFlag = False) -> None:
    """Share of risky open items per owner and team, against the policy (MODELYARD_BOARD_RISKY_MIN/MAX)."""
    from modelyard.board import Board, portfolio_table

    with open_cli_yard() as yard:
        portfolio = Board(yard).portfolio()
    if as_json:
        print_json(portfolio.to_dict())
        return
    console.print(portfolio_table(portfolio))
    for warning in portfolio.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)


@board_app.command("radar")
@friendly
def board_radar(
    weeks: Annotated[int, typer.Option(help="How far ahead to look.")] = 6,
    sprint_length: Annotated[int | None, typer.Option("--sprint-length", help="Days per sprint (default 14).")] = None,
    sprint_start: Annotated[
        str | None, typer.Option("--sprint-start", help="First day of a sprint, YYYY-MM-DD.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Items expected to drop in the next weeks, by sprint, with what integrating them will take."""
    from modelyard.board import Board, radar_table

    with open_cli_yard() as yard:
        radar = Board(yard).radar(weeks, sprint_length_days=sprint_length, sprint_start=sprint_start)
    if as_json:
        print_json(radar.to_dict())
    else:
        console.print(radar_table(radar))


@board_app.command("report")
@friendly
def board_report(
    since: Annotated[str, typer.Option(help="How far back: 14d, 2w or a date.")] = "14d",
    out: Annotated[Path, typer.Option(help="Folder for the Markdown and HTML files.")] = Path("reports"),
    as_json: JsonFlag = False,
) -> None:
    """Write the research update (Markdown and HTML): what changed since --since."""
    from modelyard.board import Board

    check_output(out, "--out", folder=True)
    with open_cli_yard() as yard:
        report = Board(yard).report(since)
    with writing(out, "--out"):
        md, page = report.write(out)
    if as_json:
        print_json({"markdown": str(md), "html": str(page), "since": report.since.isoformat()})
    else:
        console.print(f"wrote {escape(str(md))} and {escape(str(page))}")


@friendly
def feasibility(
    use_case: Annotated[str, typer.Argument(help="Use-case name (usecases/<name>.yaml).")],
    target: Annotated[str, typer.Option(help="METRIC OP VALUE, e.g. 'roc_auc>=0.64'.")],
    data: Annotated[Path | None, typer.Option(help="Parquet/CSV (default: data/customers.parquet).")] = None,
    item: Annotated[str | None, typer.Option(help="Store the study on this research item (RI-<number>).")] = None,
    plot: Annotated[Path, typer.Option(help="Where to write the learning-curve plot (.png or .svg).")] = Path(
        "feasibility.png"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Is the problem solvable enough? Learning curves of quick baselines, extrapolated to 2× and 5× the data."""
    from modelyard.board import Board
    from modelyard.board._render import feasibility_table

    check_output(
        plot, "--plot", example="feasibility.png", inputs=input_paths(data or Path("data") / "customers.parquet")
    )
    with open_cli_yard() as yard:
        result = Board(yard).feasibility(use_case, target, data=data, item=item, plot=plot)
    if as_json:
        print_json({**result.to_dict(), "plot": str(plot)})
        return
    console.print(feasibility_table(result))
    console.print(result.headline, soft_wrap=True, markup=False)
    console.print(f"plot: {escape(str(plot))}")


def register_commands(app: typer.Typer) -> None:
    """Add ``board`` and ``feasibility`` to the ``modelyard`` command."""
    app.add_typer(board_app, name="board")
    app.command("feasibility")(feasibility)
