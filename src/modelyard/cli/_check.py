"""``modelyard check USECASE MODEL``: the handoff check, as a table or JSON; exit 1 when a check fails."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._common import JsonFlag, friendly, open_cli_yard

__all__ = ["register_commands"]


def register_commands(app: typer.Typer) -> None:
    """Add the ``check`` command to ``app``."""
    app.command("check")(check)


@friendly
def check(
    use_case: Annotated[str, typer.Argument(metavar="USECASE", help="The use case whose spec the model must meet.")],
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A registered version (3, v3, latest, production...) or a model file "
            "(.skops, .onnx, LightGBM .txt, .pkl/.joblib with --trust, or module:function).",
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="FILE_OR_SNAPSHOT",
            help="Raw production rows (Parquet or CSV) or a snapshot id; data/recent.parquet by default.",
        ),
    ] = None,
    as_json: JsonFlag = False,
    soak_seconds: Annotated[
        float | None,
        typer.Option("--soak-seconds", min=0, help="How long to soak the model (30 s by default; 0 skips it)."),
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help="Allow pickle files, which run code when loaded.")] = False,
) -> None:
    """Will this model work in production? Inputs, outputs, determinism, latency, memory, soak, ONNX."""
    from modelyard.check import run_check
    from modelyard.cli._render import console, print_json

    with open_cli_yard() as yard, _stage_progress(soak_seconds, disable=as_json) as progress:
        result = run_check(yard, use_case, model, data=data, soak_seconds=soak_seconds, trust=trust, progress=progress)
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(result.table())
        if result.stored_id:
            console.print(f"stored as {result.stored_id} against {result.model}")
        elif result.version is not None:
            console.print("[yellow]not stored[/]: the check stopped early")
    raise typer.Exit(result.exit_code)


def _stage_descriptions(soak_seconds: float | None) -> dict[str, str]:
    from modelyard.check._params import soak_seconds_value

    soak = soak_seconds_value(soak_seconds)
    return {
        "load": "loading the model as the server does",
        "inputs": "running the feature code on the data",
        "outputs": "scoring the rows, checking the outputs",
        "determinism": "scoring again, and in a batch against one by one",
        "latency": "timing one-row calls",
        "memory": "loading and scoring in a fresh process",
        "soak": f"soak: one-row calls for {soak:g} s" if soak > 0 else "soak (skipped)",
        "onnx": "converting to ONNX and comparing",
    }


@contextlib.contextmanager
def _stage_progress(soak_seconds: float | None, *, disable: bool) -> Iterator[Callable[[str], None]]:
    """A transient bar of the check's stages, with the running stage's name and the time taken."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from modelyard.check import STAGES
    from modelyard.cli._render import console

    descriptions = _stage_descriptions(soak_seconds)
    progress = Progress(
        TextColumn("check: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=disable,
    )
    task = progress.add_task(descriptions["load"], total=len(STAGES))

    def started(stage: str) -> None:
        progress.update(task, completed=STAGES.index(stage), description=descriptions.get(stage, stage))

    with progress:
        yield started
