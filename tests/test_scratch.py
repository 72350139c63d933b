"""Scratch folders: kept while any process holds one, swept once none does; a process removes its own."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from modelyard._scratch import LOCK_NAME, UNLOCKED_GRACE_S, remove_own, scratch_directory, scratch_folder, sweep_stale

KIND = f"test{os.getpid()}"
HOLDER = (
    "import sys, time; from modelyard._scratch import hold; "
    "hold(sys.argv[1]); print('held', flush=True); time.sleep(60)"
)


@contextlib.contextmanager
def _held_elsewhere(folder: Path) -> Iterator[None]:
    """Another process holds ``folder`` until the block ends; then it is killed."""
    (folder / LOCK_NAME).touch()
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            yield
        finally:
            holder.kill()


def _folder(name: str = "1") -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"modelyard-{KIND}-{name}-"))
    (folder / "payload.bin").write_bytes(b"x" * 10)
    return folder


def test_a_folder_is_kept_while_another_process_holds_it_and_swept_after() -> None:
    folder = _folder()
    with _held_elsewhere(folder):
        assert sweep_stale(KIND) == 0 and folder.exists()
    assert sweep_stale(KIND) == 1 and not folder.exists()  # the kernel dropped the dead holder's lock


def test_a_folder_without_its_lock_file_is_swept_only_when_old() -> None:
    fresh, old = _folder(), _folder()
    past = time.time() - UNLOCKED_GRACE_S - 5
    os.utime(old, (past, past))
    assert sweep_stale(KIND) == 1
    assert fresh.exists() and not old.exists()  # its maker may not have locked it yet
    fresh.joinpath("payload.bin").unlink()
    fresh.rmdir()


def test_this_process_s_folders_are_held_and_removed_by_it_alone() -> None:
    other = _folder()
    with _held_elsewhere(other):
        with scratch_directory(KIND) as work:
            assert work.name.startswith(f"modelyard-{KIND}-{os.getpid()}-") and work.is_dir()
            assert sweep_stale(KIND) == 0
        assert not work.exists()
        mine = scratch_folder(KIND)
        remove_own(KIND)
        assert not mine.exists() and other.exists()
    assert sweep_stale(KIND) == 1
