"""Importing the user's own code (feature functions, models given as module:function)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["import_failure", "make_importable"]


def make_importable(folder: Path) -> None:
    """Let the project folder's own modules be imported, as ``python -m`` run there would: the spec's
    feature code (``data.features: my_features:build``) and models given as ``module:function``.
    The folder goes at the end of ``sys.path``, so an installed package of the same name still wins."""
    text = str(folder.resolve())
    if text not in sys.path:
        sys.path.append(text)


def import_failure(exc: BaseException) -> str:
    """What went wrong running a module's own code at import, for a message: the error, and for a
    syntax error the file and line."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"
