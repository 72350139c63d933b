"""Opening the registry database: engines, SQLite pragmas, write transactions, migrations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine, make_url

from modelyard._exceptions import MissingExtraError, StoreUnavailableError

__all__ = ["create_store_engine", "describe_url", "migrate", "write_transaction"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "modelyard_write"
# Any two connections to the same database contend only for this many seconds before failing.
SQLITE_BUSY_TIMEOUT_S = 30.0


def describe_url(url: str | URL) -> str:
    """The URL as it is safe to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` tuned for the registry: WAL and real write locks on SQLite."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreUnavailableError(
            f"MODELYARD_DATABASE_URL {url!r} is not a database URL; use e.g. "
            "postgresql+psycopg://user@host:5432/db or sqlite:///path/registry.db"
        ) from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, future=True)
    except ModuleNotFoundError as exc:
        if "psycopg" in str(exc):
            raise MissingExtraError("psycopg", "postgres", "A PostgreSQL registry") from exc
        raise


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves, so a write transaction can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take SQLite's write lock at BEGIN: two promotions queue instead of deadlocking.
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def _alembic_config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head_revisions() -> set[str]:
    """The newest migrations this version of modelyard knows (one per branch)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there.

    On PostgreSQL an advisory lock keeps two processes from migrating at once.
    """
    heads = head_revisions()
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7347001)"))
        current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return
        for revision in sorted(current):
            if not _known_revision(revision):
                raise StoreUnavailableError(
                    f"The registry database is at schema revision {revision!r}, which this version of "
                    "modelyard does not know (it was written by a newer modelyard); upgrade modelyard"
                )
        command.upgrade(_alembic_config(conn), "heads")


def _known_revision(revision: str) -> bool:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # alembic raises its own lookup errors for unknown ids
        return False
