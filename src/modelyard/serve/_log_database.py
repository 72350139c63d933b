"""The prediction log in the registry database (team mode): the ``predictions`` table.

The writer thread hands each batch to :meth:`DatabaseSink.write`: one transaction, one ``COPY`` on
PostgreSQL (about 3x the rows/s of an executemany ``INSERT`` here), one executemany ``INSERT`` on
SQLite. The sink has its own engine, so log writes never wait for the registry poller's connections,
and a short connect timeout, so an unreachable database fails a flush in seconds, not minutes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from modelyard.serve._log import LOG_SCHEMA, LogEntry, LogSinkDown, log_columns
from modelyard.store import Store, describe_url
from modelyard.store._engine import create_store_engine, write_transaction

__all__ = ["DatabaseSink", "read_database_log"]

_CONNECT_TIMEOUT_S = 5


def _log_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        url = parsed.update_query_dict({"connect_timeout": str(_CONNECT_TIMEOUT_S)}).render_as_string(
            hide_password=False
        )
    return create_store_engine(url)


def _is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable (retry later), not that it refuses the rows."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ModuleNotFoundError:  # pragma: no cover - SQLite only
        return isinstance(exc, sqlite3.OperationalError)
    # COPY talks to psycopg directly: its connection errors arrive unwrapped
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError))


class DatabaseSink:
    """Writes batches of the log to the ``predictions`` table of the database at ``url``."""

    target = "database"

    def __init__(self, url: str) -> None:
        self.where = describe_url(url)
        self.engine = _log_engine(url)

    def write(self, entries: list[LogEntry]) -> int:
        columns = log_columns(entries)
        try:
            with write_transaction(self.engine) as conn:
                return Store.insert_predictions(conn, columns)
        except Exception as exc:
            if _is_outage(exc):
                raise LogSinkDown(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from exc
            raise

    def close(self) -> None:
        self.engine.dispose()


def read_database_log(source: Any, use_case: str | None = None) -> pa.Table:
    """The ``predictions`` table (of one use case when given) as an Arrow table in ``LOG_SCHEMA``.

    ``source`` is a :class:`~modelyard.store.Store` or a database URL.
    """
    if isinstance(source, Store):
        with source.reading() as conn:
            columns = Store.read_predictions(conn, use_case)
    else:
        engine = create_store_engine(str(source))
        try:
            with engine.connect() as conn:
                columns = Store.read_predictions(conn, use_case)
        finally:
            engine.dispose()
    return pa.Table.from_pydict(columns, schema=LOG_SCHEMA)
