"""What every CLI command shares: the yard it works on, error handling, common options."""

from __future__ import annotations

import functools
import glob
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from modelyard._exceptions import ModelyardError, SpecError, UsageError
from modelyard._settings import Settings, load_settings
from modelyard._yard import Yard
from modelyard.cli._render import err_console, print_json

__all__ = [
    "JsonFlag",
    "Reason",
    "check_output",
    "check_version",
    "friendly",
    "input_paths",
    "open_cli_yard",
    "set_root",
    "version_ref",
    "write_output",
    "writing",
]

F = TypeVar("F", bound=Callable[..., Any])

_state: dict[str, Any] = {"root": None}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why; recorded in the audit trail.")]


def set_root(root: Path | None) -> None:
    """Remember the ``--root`` option for the command that runs."""
    _state["root"] = root


def friendly(func: F) -> F:
    """Turn modelyard's own errors into one red line and exit code 2: no traceback for a user mistake.

    With ``--json`` (the ``as_json`` keyword) the error's JSON shape also goes to stdout, for scripts.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ModelyardError as exc:
            issues = (exc.issues or [exc.message]) if isinstance(exc, SpecError) else [exc.message]
            for issue in issues:
                err_console.print(f"[red]error:[/] {escape(str(issue))}", soft_wrap=True)  # types like list[int]
            if kwargs.get("as_json"):
                print_json(exc.to_dict())
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def open_cli_yard(*, create: bool = False) -> Yard:
    """The yard the command works on: ``--root`` (or ``MODELYARD_ROOT``), else the nearest folder from
    the current one upward holding ``usecases/`` or ``.modelyard/``.

    Only a command that starts a yard (``create=True``) may do so where there is none: any other
    refuses, so that a mistyped ``--root`` or the wrong folder gets an error, not a new empty yard.
    """
    settings = _cli_settings()
    if not create and not settings.has_project():
        raise UsageError(
            f"No modelyard project in {str(settings.root)!r}: it has no usecases/ folder and no .modelyard/; "
            "run this in your project's folder, pass --root PROJECT, or build one with 'modelyard demo'"
        )
    return Yard(settings)


def _cli_settings() -> Settings:
    root = _state["root"]
    if root is None:
        return load_settings()
    folder = Path(root).expanduser()
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"--root {str(root)!r} {what}; give your project's folder (it holds usecases/)")
    return load_settings(folder)


def version_ref(text: str, option: str = "VERSION") -> int | str:
    """A version as typed: ASCII digits are a number, anything else (v3, production, latest) a name."""
    check_version(text, option)
    return int(text) if text.isascii() and text.isdigit() else text


def check_version(text: str, option: str = "VERSION") -> str:
    """Refuse digits other than 0-9 ('²', '١'), which ``int()`` would misread or choke on."""
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise UsageError(f"{option} {text!r} is not a version; write the number with the digits 0-9, e.g. 2 or v2")
    return text


def input_paths(*paths: str | Path | None) -> list[Path]:
    """Existing files among ``paths``, globs expanded (URLs and snapshot ids simply match nothing)."""
    found: list[Path] = []
    for p in paths:
        if p is None or "://" in str(p):
            continue
        found.extend(Path(m) for m in glob.glob(str(p)))
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(
    path: Path, option: str, *, inputs: Iterable[Path] = (), folder: bool = False, example: str = "out.txt"
) -> Path:
    """Check an output path before the work starts, so a mistake costs nothing and overwrites nothing.

    Refuses a folder (or, with ``folder=True``, an existing file), a path under a file, a device or FIFO,
    one of the command's ``inputs``, and anything in the yard's own folders (``.modelyard``, the specs).
    """
    settings = _cli_settings()
    target = path.expanduser().resolve()
    shown = f"{option} {str(path)!r}"
    ancestor = next((p for p in target.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise UsageError(f"{shown} is under {str(ancestor)!r}, which is a file, not a folder; choose another path")
    if target.exists():
        mode = target.stat().st_mode
        if folder and not stat.S_ISDIR(mode):
            raise UsageError(f"{shown} is an existing file, not a folder; give a folder path")
        if not folder and stat.S_ISDIR(mode):
            raise UsageError(f"{shown} is a folder; give a file path, e.g. {option} {path / example}")
        if not folder and not stat.S_ISREG(mode):
            raise UsageError(f"{shown} is not a regular file (a device, FIFO or socket); give a file path")
    specs = settings.resolved_usecases()
    for given in [*inputs, *specs.glob("*.yaml"), *specs.glob("*.yml")]:
        if target == given.expanduser().resolve():
            raise UsageError(f"{shown} is one of this command's inputs ({given}); write the output elsewhere")
    home = settings.resolved_home().resolve()
    if _inside(target, home):
        raise UsageError(f"{shown} is inside {str(home)!r}, the folder modelyard manages; write elsewhere")
    return path


def write_output(path: Path, option: str, text: str) -> None:
    """Write ``text`` to an output file (its folder made when missing), an OSError as one line."""
    with writing(path, option):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@contextmanager
def writing(path: Path, option: str) -> Iterator[None]:
    """Turn an OSError while writing ``path`` into a one-line UsageError naming the option."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"Could not write {option} {str(path)!r}: {reason}; choose a writable path") from None
