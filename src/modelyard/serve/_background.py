"""A real uvicorn server in a background thread on a free loopback port (the demo and the tests use it)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """Serve an ASGI app from a daemon thread: ``with BackgroundServer(app) as server: server.url``.

    Leaving the block shuts uvicorn down gracefully: in-flight requests are answered and the app's
    lifespan ends (for the model server: queues drained, prediction log flushed).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 60) -> None:
        self.app = app
        self.host = host
        self.start_timeout = start_timeout
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="modelyard-background-server", daemon=True)
        self.port = port
        self.url = ""

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the model server did not start; its log above says why")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    @property
    def service(self) -> Any:
        """The app's :class:`~modelyard.serve.ModelService` (for apps made by ``create_app``)."""
        return self.app.state.service
