"""Scratch folders that a later run sweeps when the process using them was killed.

A folder is ``<tmp>/modelyard-<kind>-<pid>-<random>`` (the pid is for people reading ``/tmp``). Every
process using one holds a shared ``flock`` on its ``.in-use`` file: the one that made it, and any
other it hands the folder to (:func:`hold`). The kernel drops a lock when its process dies, so a
folder whose lock can be taken exclusively is in nobody's use: pid reuse, clock steps and pid
namespaces sharing one ``/tmp`` do not matter. Without ``fcntl`` (Windows) nothing is swept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["hold", "remove", "remove_own", "scratch_directory", "scratch_folder", "sweep_stale"]

LOCK_NAME = ".in-use"
UNLOCKED_GRACE_S = 60.0
"""A folder without its lock file is left alone this long: its maker may be about to create it."""

_held: dict[Path, IO[bytes]] = {}  # this process's folders and the open lock file of each


def scratch_folder(kind: str) -> Path:
    """A new folder for this process's scratch files of ``kind``, held until removed or the process
    ends; stale folders of that kind are swept first."""
    sweep_stale(kind)
    folder = Path(tempfile.mkdtemp(prefix=f"modelyard-{kind}-{os.getpid()}-"))
    hold(folder)
    return folder


@contextlib.contextmanager
def scratch_directory(kind: str) -> Iterator[Path]:
    """:func:`scratch_folder`, removed with its contents on the way out."""
    folder = scratch_folder(kind)
    try:
        yield folder
    finally:
        remove(folder)


def hold(folder: str | Path) -> None:
    """Mark ``folder`` as in use by this process too (a worker given its parent's folder)."""
    folder = Path(folder)
    if fcntl is None or folder in _held:
        return
    handle = open(folder / LOCK_NAME, "ab")  # noqa: SIM115 - held open for the process's life
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    _held[folder] = handle


def sweep_stale(kind: str) -> int:
    """Remove the ``kind`` folders that no process holds; return how many went."""
    removed = 0
    for folder in _folders(kind):
        if folder not in _held and _unused(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += not folder.exists()
    return removed


def remove_own(kind: str) -> None:
    """Remove the ``kind`` folders this process made (for an exit that runs no ``finally`` block):
    those it holds, and any with its pid that another thread made but has not held yet."""
    prefix = f"modelyard-{kind}-"
    for folder in [f for f in _held if f.name.startswith(prefix)]:
        remove(folder)
    mine = f"{prefix}{os.getpid()}-"
    for folder in [f for f in _folders(kind) if f.name.startswith(mine)]:
        remove(folder)


def remove(folder: str | Path) -> None:
    """Remove ``folder`` and its contents, and stop holding it."""
    folder = Path(folder)
    handle = _held.pop(folder, None)
    if handle is not None:
        handle.close()
    shutil.rmtree(folder, ignore_errors=True)


def _folders(kind: str) -> Iterator[Path]:
    prefix = f"modelyard-{kind}-"
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            if entry.name.startswith(prefix) and entry.is_dir() and not entry.is_symlink():
                yield entry


def _unused(folder: Path) -> bool:
    if fcntl is None:
        return False
    try:
        handle = open(folder / LOCK_NAME, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:  # made by an older modelyard, or its maker has not locked it yet
        with contextlib.suppress(OSError):
            return time.time() - folder.stat().st_mtime > UNLOCKED_GRACE_S
        return False
    except OSError:  # another user's folder
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
