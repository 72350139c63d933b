"""Scratch folders named after the process that made them, so a later run sweeps what a killed one left.

A folder is ``<tmp>/modelyard-<kind>-<pid>-<random>``. It is stale when no process has that pid, or
when the process that has it started after the folder was last written (the pid was reused).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil

__all__ = ["remove_own", "scratch_directory", "scratch_folder", "sweep_stale"]


def scratch_folder(kind: str) -> Path:
    """A new folder for this process's scratch files of ``kind``; stale ones of that kind go first."""
    sweep_stale(kind)
    return Path(tempfile.mkdtemp(prefix=f"modelyard-{kind}-{os.getpid()}-"))


@contextlib.contextmanager
def scratch_directory(kind: str) -> Iterator[Path]:
    """:func:`scratch_folder`, removed with its contents on the way out."""
    folder = scratch_folder(kind)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_stale(kind: str) -> int:
    """Remove the ``kind`` folders whose process is gone; return how many."""
    removed = 0
    for folder, pid in _folders(kind):
        if pid != os.getpid() and _stale(folder, pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def remove_own(kind: str) -> None:
    """Remove this process's ``kind`` folders (for an exit that skips ``finally`` blocks)."""
    for folder, pid in _folders(kind):
        if pid == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)


def _folders(kind: str) -> Iterator[tuple[Path, int]]:
    pattern = re.compile(rf"modelyard-{re.escape(kind)}-(\d+)-")
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            found = pattern.match(entry.name)
            if found and entry.is_dir():
                yield entry, int(found.group(1))


def _stale(folder: Path, pid: int) -> bool:
    try:
        written = folder.stat().st_mtime
        return psutil.Process(pid).create_time() > written
    except psutil.NoSuchProcess:
        return True
    except (OSError, psutil.Error):  # gone meanwhile, or not ours to judge
        return False
