"""``modelyard serve``: the model server on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.cli._common import friendly, open_cli_yard

__all__ = ["register_commands"]


def register_commands(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""

    @app.command("serve")
    @friendly
    def serve_command(
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8080,
        workers: Annotated[int, typer.Option("--workers", help="Server processes.", min=1)] = 1,
    ) -> None:
        """Serve every use case's production, canary and shadow versions (OIP v2, MLflow, plain JSON).

        Batching, canary fraction, prediction log and the admin token are set with MODELYARD_SERVE_*
        environment variables; SIGTERM drains in-flight requests and flushes the prediction log.
        """
        from modelyard.serve import ServeSettings, serve

        yard = open_cli_yard()
        settings = ServeSettings()
        typer.echo(f"modelyard serve: http://{host}:{port} (docs at /docs, metrics at /metrics)", err=True)
        serve(yard, host, port, workers, settings=settings)
