"""Running the app on uvicorn (uvloop + httptools when installed), one or several worker processes."""

from __future__ import annotations

import os
from typing import Any

import uvicorn

from modelyard._settings import Settings
from modelyard._yard import Yard
from modelyard.serve._app import create_app
from modelyard.serve._settings import ServeSettings

__all__ = ["serve"]


def serve(
    yard: Yard,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    settings: ServeSettings | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``yard`` until SIGINT/SIGTERM; then drain in-flight requests and flush the log.

    With ``workers > 1`` each process opens the yard again from its settings (passed through the
    environment), loads the models, polls the registry and listens on its own socket on the same
    port (``SO_REUSEPORT``: the kernel spreads connections over the processes).
    """
    settings = (settings or ServeSettings()).model_copy(update={"workers": workers})
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(yard, settings=settings), **common)
        return
    _export(yard.settings, settings)
    from modelyard.serve._workers import run_workers

    options = {k: v for k, v in common.items() if k not in ("host", "port")}
    run_workers(host, port, workers, options)


def settings_environment(yard_settings: Settings, settings: ServeSettings | None = None) -> dict[str, str]:
    """``MODELYARD_*`` (and ``MODELYARD_SERVE_*``) variables that rebuild these settings in another process."""
    env: dict[str, str] = {}
    groups = [("MODELYARD_", yard_settings)] + ([("MODELYARD_SERVE_", settings)] if settings is not None else [])
    for prefix, group in groups:
        for name, value in group.model_dump().items():
            if value is not None:
                secret = getattr(value, "get_secret_value", None)
                env[f"{prefix}{name.upper()}"] = str(secret() if secret else value)
    return env


def _export(yard_settings: Settings, settings: ServeSettings) -> None:
    os.environ.update(settings_environment(yard_settings, settings))


def app_from_environment() -> Any:
    """The app of one worker process, built from ``MODELYARD_*`` and ``MODELYARD_SERVE_*``."""
    return create_app(Yard(Settings()), settings=ServeSettings())
