"""The ``modelyard`` command line."""

from modelyard.cli._app import app, main

__all__ = ["app", "main"]
