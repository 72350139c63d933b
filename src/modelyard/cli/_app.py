"""The ``modelyard`` command: thin Typer commands over the Python API, no logic of their own."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from modelyard._exceptions import UsageError
from modelyard.cli._common import (
    JsonFlag,
    Reason,
    check_output,
    check_version,
    friendly,
    open_cli_yard,
    set_root,
    writing,
)
from modelyard.cli._render import (
    console,
    err_console,
    print_json,
    stage_changes_table,
    stage_text,
    use_cases_table,
    version_details,
    versions_table,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="modelyard",
    help="Take a model from research to production with no surprises.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
usecase_app = typer.Typer(help="Use-case specs: validate, list, show, JSON Schema.", no_args_is_help=True)
models_app = typer.Typer(help="Registered model versions.", no_args_is_help=True)
app.add_typer(usecase_app, name="usecase")
app.add_typer(models_app, name="models")


@app.callback()
def _root(
    root: Annotated[
        Path | None,
        typer.Option("--root", envvar="MODELYARD_ROOT", help="Project folder (holds usecases/ and .modelyard/)."),
    ] = None,
) -> None:
    set_root(root)


def _key_values(pairs: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {pair!r} is not KEY=VALUE; write e.g. {option} max_depth=6")
        out[key.strip()] = value.strip()
    return out


# -- use cases ---------------------------------------------------------------------------------


@usecase_app.command("validate")
@friendly
def usecase_validate(
    files: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
    as_json: JsonFlag = False,
) -> None:
    """Check use-case specs; report every problem with file:line, key, value and fix."""
    from modelyard.spec import validate_file

    results = {str(f): validate_file(f) for f in files}
    if as_json:
        print_json(
            {
                name: [
                    {
                        "file": i.file,
                        "line": i.line,
                        "key": i.key,
                        "value": i.value,
                        "message": i.message,
                        "fix": i.fix,
                    }
                    for i in issues
                ]
                for name, issues in results.items()
            }
        )
    else:
        for name, issues in results.items():
            if not issues:
                console.print(f"[green]✓[/] {escape(name)}: valid")
            for issue in issues:
                err_console.print(f"[red]✗[/] {escape(str(issue))}", soft_wrap=True)
    if any(results.values()):
        raise typer.Exit(2)


@usecase_app.command("list")
@friendly
def usecase_list(as_json: JsonFlag = False) -> None:
    """Every use case, with its production, canary and shadow versions."""
    with open_cli_yard() as yard:
        summaries = yard.use_cases()
    if as_json:
        print_json([s.to_dict() for s in summaries])
    elif not summaries:
        console.print("No use cases yet: add a spec under usecases/ (see 'modelyard demo' for an example).")
    else:
        console.print(use_cases_table(summaries))


@usecase_app.command("show")
@friendly
def usecase_show(name: str, as_json: JsonFlag = False) -> None:
    """A use case's spec, as modelyard understands it."""
    with open_cli_yard() as yard:
        spec = yard.use_case(name)
    if as_json:
        print_json(spec.to_yaml_dict())
    else:
        from rich.syntax import Syntax

        assert spec.source_path is not None and spec.sha256 is not None  # loaded from usecases/
        console.print(f"[bold]{escape(str(spec.source_path))}[/]  (sha256 {spec.sha256[:12]})")
        text = Path(spec.source_path).read_text(encoding="utf-8")
        console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default", line_numbers=True))


@usecase_app.command("schema")
@friendly
def usecase_schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """The JSON Schema of use-case specs, for editors (YAML language server) and CI."""
    from modelyard.spec import json_schema, write_json_schema

    if out is None:
        print_json(json_schema())
    else:
        check_output(out, "--out", example="usecase.schema.json")
        with writing(out, "--out"):
            write_json_schema(out)
        console.print(f"wrote {escape(str(out))}")


# -- registering -------------------------------------------------------------------------------


@app.command("register")
@friendly
def register(
    use_case: Annotated[str, typer.Argument(help="Use-case name (usecases/<name>.yaml).")],
    model: Annotated[
        str,
        typer.Argument(
            help="A model file (.skops, .onnx, LightGBM .txt, .pkl/.joblib with --trust) "
            "or a function's import path module:function."
        ),
    ],
    flavor: Annotated[
        str | None, typer.Option(help="Force a flavor (sklearn, lightgbm, onnx, python_function).")
    ] = None,
    serialization: Annotated[
        str | None, typer.Option(help="sklearn: skops (default) or pickle (needs --trust).")
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help="Allow pickle files, which run code when loaded.")] = False,
    training_data: Annotated[
        Path | None,
        typer.Option("--training-data", help="Parquet/CSV the model was trained on (hashed for lineage)."),
    ] = None,
    snapshot: Annotated[str | None, typer.Option(help="Snapshot id the model was trained on.")] = None,
    param: Annotated[list[str], typer.Option("--param", help="KEY=VALUE hyper-parameter (repeatable).")] = [],  # noqa: B006
    tag: Annotated[list[str], typer.Option("--tag", help="KEY=VALUE tag (repeatable).")] = [],  # noqa: B006
    research_item: Annotated[
        str | None, typer.Option("--research-item", help="Research item this model came from.")
    ] = None,
    author: Annotated[str | None, typer.Option(help="Who made it (default: MODELYARD_AUTHOR or your login).")] = None,
    description: Annotated[str | None, typer.Option(help="One line on what this version is.")] = None,
    threshold: Annotated[float, typer.Option(help="Decision threshold on the score, in [0, 1].")] = 0.5,
    as_json: JsonFlag = False,
) -> None:
    """Register a model file as the next candidate version of a use case."""
    with open_cli_yard() as yard:  # first: a module:function may live in the project folder
        mv = yard.register(
            use_case,
            model,
            flavor=flavor,
            serialization=serialization,
            trust=trust,
            training_data=training_data,
            snapshot_id=snapshot,
            params=_key_values(param, "--param") or None,
            tags=_key_values(tag, "--tag"),
            research_item=research_item,
            author=author,
            description=description,
            threshold=threshold,
        )
    if as_json:
        print_json(mv.to_dict())
    else:
        console.print(
            f"[green]registered[/] {escape(mv.ref)} as {stage_text(mv.stage)} "
            f"({escape(mv.flavor)}, sha256 {mv.artifact_sha256[:12]})"
        )


# -- reading the registry ----------------------------------------------------------------------


@models_app.command("list")
@friendly
def models_list(
    use_case: Annotated[str | None, typer.Argument(help="Only this use case.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only versions in this stage.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Registered versions with stage, flavor, lineage."""
    with open_cli_yard() as yard:
        versions = yard.models(use_case, stage)
        if use_case is not None and not versions:
            _refuse_unknown_use_case(yard, use_case)
    if as_json:
        print_json([v.to_dict() for v in versions])
    elif not versions:
        which = f" of {use_case}" if use_case else ""
        where = f" in stage {stage}" if stage else ""
        console.print(f"No model versions{which}{where} yet: register one with 'modelyard register USECASE MODEL'.")
    else:
        console.print(versions_table(versions))


def _refuse_unknown_use_case(yard: Any, name: str) -> None:
    """A typo in a use case's name is an error, not an empty list."""
    from modelyard._exceptions import NotFoundError

    known = [summary.name for summary in yard.use_cases()]
    if name not in known:
        hint = f"known: {', '.join(known)}" if known else "none yet: add a spec under usecases/"
        raise NotFoundError(f"No use case {name!r} in this project ({hint})")


@models_app.command("show")
@friendly
def models_show(
    use_case: str,
    version: Annotated[str, typer.Argument(help="A number (3, v3), a stage (production) or latest.")] = "latest",
    as_json: JsonFlag = False,
) -> None:
    """One version in full: artifact, lineage, signature, and its audit trail."""
    with open_cli_yard() as yard:
        mv = yard.model(use_case, check_version(version))
        trail = yard.history(use_case, mv.version)
        location = yard.artifacts.uri(mv.artifact_sha256)  # the recorded URI is where it was first stored
    if as_json:
        print_json({**mv.to_dict(), "history": [c.to_dict() for c in trail]})
    else:
        console.print(version_details(mv, location))
        console.print(stage_changes_table(trail, title="History"))


@app.command("history")
@friendly
def history(
    use_case: str,
    version: Annotated[str | None, typer.Argument(help="Only this version.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The append-only audit trail of stage changes: who, when, from, to, why."""
    with open_cli_yard() as yard:
        trail = yard.history(use_case, None if version is None else check_version(version))
    if as_json:
        print_json([c.to_dict() for c in trail])
    else:
        console.print(stage_changes_table(trail, title=f"History of {use_case}"))


# -- stage changes -----------------------------------------------------------------------------


def _report_changes(changes: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([c.to_dict() for c in changes])
        return
    for c in changes:
        console.print(
            f"{escape(c.use_case)}/v{c.version}: {stage_text(c.from_stage)} → {stage_text(c.to_stage)}  "
            f"({escape(c.reason)})",
            soft_wrap=True,
        )


@app.command("stage")
@friendly
def stage(
    use_case: str,
    version: str,
    to: Annotated[str, typer.Argument(help="candidate, shadow, canary, production or retired.")],
    reason: Reason = "",
    force: Annotated[bool, typer.Option("--force", help="Into production without a passing evaluation.")] = False,
    why: Annotated[str | None, typer.Option("--why", help="With --force: why the evaluation is skipped.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a version to another stage (into production: as promote)."""
    with open_cli_yard() as yard:
        _report_changes(
            yard.transition(use_case, check_version(version), to, reason=reason, force=force, why=why), as_json
        )


@app.command("promote")
@friendly
def promote(
    use_case: str,
    version: str,
    reason: Reason = "",
    force: Annotated[
        bool, typer.Option("--force", help="Promote without a passing evaluation (needs --why; audited).")
    ] = False,
    why: Annotated[str | None, typer.Option("--why", help="With --force: why the evaluation is skipped.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a version the production version (the current one is archived in the same step).

    Refused without a passing evaluation against the current production version
    (modelyard evaluate), unless --force --why "...", which the audit trail records.
    """
    with open_cli_yard() as yard:
        _report_changes(yard.promote(use_case, check_version(version), reason=reason, force=force, why=why), as_json)


@app.command("rollback")
@friendly
def rollback(
    use_case: str,
    reason: Reason = "",
    retire: Annotated[bool, typer.Option("--retire", help="Retire (not archive) the version rolled back.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Bring back the production version the current one replaced."""
    with open_cli_yard() as yard:
        _report_changes(yard.rollback(use_case, reason=reason, retire=retire), as_json)


# -- the demo ----------------------------------------------------------------------------------


@app.command("demo")
@friendly
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to build the demo yard (created fresh).")] = Path(
        "modelyard-demo"
    ),
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the folder already holds a yard.")] = False,
    team_database: Annotated[
        str | None,
        typer.Option(
            "--team-database",
            help="Run as a team: registry and production data in this PostgreSQL database (use a fresh one).",
        ),
    ] = None,
) -> None:
    """Build a complete yard on the IBM telco churn data: spec, champion, challenger, lineage."""
    from modelyard.demo import run_demo

    check_output(folder, "FOLDER", folder=True)
    run_demo(folder, force=force, console=console, team_database=team_database)


def _register_module_commands() -> None:
    from modelyard.cli import _board, _check, _data, _evaluate, _serve

    _data.register_commands(app)
    _serve.register_commands(app)
    _check.register_commands(app)
    _evaluate.register_commands(app)
    _board.register_commands(app)


_register_module_commands()


class Terminated(BaseException):
    """SIGTERM, raised where the program is: not an Exception (nor SystemExit, which feature code may
    raise and which modelyard reports as that code's failure), so only cleanups and ``main`` see it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main() -> None:
    """Entry point of the ``modelyard`` command.

    SIGTERM (a CI job cancelled, ``kill``, a container stopping) unwinds like Ctrl-C, so every command's
    cleanup runs: a snapshot or a scoring run that is stopped leaves no temporary files behind. (The
    server installs its own handler when it starts, to drain requests.)"""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="modelyard")
    except Terminated as stop:
        sys.exit(128 + stop.signum)
