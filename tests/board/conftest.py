"""Board fixtures: a yard whose registry tells the board, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from modelyard.board import Board, BoardListener, BoardSettings
from modelyard.cli._board import register_commands
from modelyard.cli._common import set_root

TODAY = date(2026, 11, 26)  # a Thursday; sprint 24 of 2026 runs Nov 23 – Dec 6
SETTINGS = BoardSettings(risky_min=0.2, risky_max=0.4, sprint_length_days=14, sprint_start=date(2026, 1, 5))


def with_listener(yard):  # type: ignore[no-untyped-def]
    """The lead wires the listener in Yard.__init__; until then (and without doubling it) add it here."""
    if not any(isinstance(listener, BoardListener) for listener in yard.registry.listeners):
        yard.registry.listeners.append(BoardListener())
    return yard


@pytest.fixture
def board(yard) -> Board:  # type: ignore[no-untyped-def]
    return Board(with_listener(yard), SETTINGS)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def board_settings() -> BoardSettings:
    return SETTINGS


@pytest.fixture
def sqlite_board(yard_root, sqlite_url) -> Iterator[Board]:  # type: ignore[no-untyped-def]
    """A board on SQLite only, for slow tests whose subject is not the store."""
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=sqlite_url, author="tester")) as y:
        yield Board(with_listener(y), SETTINGS)


@pytest.fixture
def cli(yard_root: Path, store_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The board commands through Typer's runner: ``cli(*args)`` -> (exit code, stdout, stderr)."""
    monkeypatch.setenv("MODELYARD_DATABASE_URL", store_url)
    monkeypatch.setenv("MODELYARD_AUTHOR", "cli-tester")
    monkeypatch.chdir(yard_root)
    set_root(None)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, as the real app is
        pass

    register_commands(app)

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
        return result.exit_code, result.stdout, result.stderr

    return run
