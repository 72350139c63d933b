"""Alembic environment: modelyard always hands it an open connection."""

from __future__ import annotations

from alembic import context

from modelyard.store._schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through modelyard.store.open_store(), which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
