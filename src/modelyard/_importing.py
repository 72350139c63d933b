"""Importing the user's own code (feature functions, models given as module:function)."""

from __future__ import annotations

__all__ = ["import_failure"]


def import_failure(exc: BaseException) -> str:
    """What went wrong running a module's own code at import, for a message: the error, and for a
    syntax error the file and line."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"
