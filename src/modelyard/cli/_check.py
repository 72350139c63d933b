"""``modelyard check USECASE MODEL``: the handoff check, as a table or JSON; exit 1 when a check fails."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard._exceptions import UsageError
from modelyard.cli._common import JsonFlag, friendly, open_cli_yard
from modelyard.cli._watchdog import Watchdog

if TYPE_CHECKING:  # imported where used: the CLI starts without them
    from rich.progress import Progress

    from modelyard.check import CheckResult

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
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0,
            help="Stop and fail the check after this many seconds, so that a model call that never returns "
            "cannot hang an unattended job (30 minutes plus the soak by default; 0 for no limit).",
        ),
    ] = None,
) -> None:
    """Will this model work in production? Inputs, outputs, determinism, latency, memory, soak, ONNX."""
    from modelyard.check import run_check
    from modelyard.cli._render import console

    limit = _time_limit(timeout, soak_seconds)
    with open_cli_yard() as yard, _stage_progress(soak_seconds, disable=as_json) as (started, display):
        stopper = _stop_on_timeout(use_case, model, limit, soak_seconds, display, as_json=as_json)
        with Watchdog(limit, stopper, backstop_s=_BACKSTOP_S) as watchdog:

            def progress(stage: str) -> None:
                watchdog.stage(stage)
                started(stage)

            result = run_check(
                yard, use_case, model, data=data, soak_seconds=soak_seconds, trust=trust, progress=progress
            )
    _print_result(result, as_json=as_json)
    if not as_json:
        if result.stored_id:
            console.print(f"stored as {result.stored_id} against {result.model}")
        elif result.version is not None:
            console.print("[yellow]not stored[/]: the check stopped early")
    raise typer.Exit(result.exit_code)


DEFAULT_TIMEOUT_S = 1800.0
"""Without ``--timeout``, a check is stopped after this many seconds beyond its soak."""


_BACKSTOP_S = 30.0
"""Should the watchdog's thread never get to run (the stuck call holds the GIL), Python's
faulthandler ends the process this much later, printing where each thread was."""


def _time_limit(timeout: float | None, soak_seconds: float | None) -> float | None:
    from modelyard.check._params import soak_seconds_value

    if timeout is not None and not math.isfinite(timeout):
        raise UsageError(f"--timeout must be a number of seconds, or 0 for no limit; got {timeout}")
    if timeout is None:
        return DEFAULT_TIMEOUT_S + soak_seconds_value(soak_seconds)
    return timeout or None


def _stop_on_timeout(
    use_case: str, model: str, limit: float | None, soak_seconds: float | None, display: Progress, *, as_json: bool
) -> Callable[[str | None, float], None]:
    """What the watchdog does when the check overruns: report it as a failed check and end the process.

    The stuck call holds the main thread and cannot be interrupted (it may be waiting in C), so the
    process ends from the watchdog's thread once the report is out. Nothing is half-written: a check
    is stored in one transaction at its very end.
    """

    def stop(stage: str | None, stage_seconds: float) -> None:
        try:
            _end_children()  # first: what follows writes to pipes a reader may have closed
            with contextlib.suppress(Exception):
                display.stop()
            result = _timed_out(use_case, model, limit, stage, stage_seconds, soak_seconds)
            _print_result(result, as_json=as_json)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:  # whatever failed above, the stuck process must end
            with contextlib.suppress(Exception):  # again: woken by its child's death, the check may have
                _end_children()  # gone on and made another child or folder while the report was written
            os._exit(1)

    return stop


def _timed_out(
    use_case: str, model: str, limit: float | None, stage: str | None, stage_seconds: float, soak: float | None
) -> CheckResult:
    """The result of a check stopped at its time limit: one FAIL row saying where it was stuck."""
    from modelyard.check import Check, CheckResult, Status

    if stage is None:  # the data is read before the first stage
        where, measured = "while reading the data", f"{stage_seconds:.0f} s reading the data"
    else:
        doing = _stage_descriptions(soak).get(stage, stage)
        where, measured = f"in the {stage} stage ({doing})", f"{stage_seconds:.0f} s in {stage}"
    result = CheckResult(use_case, model, None, None, 0, complete=False)
    result.checks.append(
        Check(
            "time limit",
            Status.FAIL,
            f"the check ran past its time limit of {limit:g} s and was stopped {where}, after "
            f"{stage_seconds:.0f} s there: a call to the model (or the feature code) has most likely not returned",
            measured=measured,
            budget=f"{limit:g} s",
            fix="time one call of the model on a few rows of the data; if it is this slow on purpose, "
            "pass a larger --timeout (0 for no limit)",
        )
    )
    return result


def _print_result(result: CheckResult, *, as_json: bool) -> None:
    from modelyard.cli._render import console, print_json

    if as_json:
        print_json(result.to_dict())
    else:
        console.print(result.table())


def _end_children() -> None:
    """Kill what the check started (the memory stage's process, stuck on the same model) and remove its
    scratch files: ``os._exit`` runs no ``finally`` block."""
    import psutil

    from modelyard._scratch import remove_own

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=5)
    remove_own("check")


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
def _stage_progress(soak_seconds: float | None, *, disable: bool) -> Iterator[tuple[Callable[[str], None], Progress]]:
    """A transient bar of the check's stages, with the running stage's name and the time taken: the
    function to call as each stage starts, and the display (to stop it)."""
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
        yield started, progress
