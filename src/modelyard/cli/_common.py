"""What every CLI command shares: the yard it works on, error handling, common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from modelyard._exceptions import ModelyardError, SpecError
from modelyard._settings import Settings
from modelyard._yard import Yard
from modelyard.cli._render import err_console

__all__ = ["JsonFlag", "Reason", "friendly", "open_cli_yard", "set_root"]

F = TypeVar("F", bound=Callable[..., Any])

_state: dict[str, Any] = {"root": None}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why; recorded in the audit trail.")]


def set_root(root: Path | None) -> None:
    """Remember the ``--root`` option for the command that runs."""
    _state["root"] = root


def friendly(func: F) -> F:
    """Turn modelyard's own errors into one red line and exit code 2: no traceback for a user mistake."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            for issue in exc.issues or [exc.message]:
                err_console.print(f"[red]error:[/] {escape(str(issue))}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except ModelyardError as exc:
            err_console.print(f"[red]error:[/] {escape(exc.message)}", soft_wrap=True)  # types like list[int]
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def open_cli_yard() -> Yard:
    """The yard the command works on: ``--root``, else ``MODELYARD_*`` settings, else the current folder."""
    root = _state["root"]
    return Yard(Settings(root=Path(root).resolve()) if root else Settings())
