"""Scratch folders: a dead process's are swept, a live one's and this process's are kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from modelyard._scratch import remove_own, scratch_directory, scratch_folder, sweep_stale

KIND = f"test{os.getpid()}"


def _folder_of(pid: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"modelyard-{KIND}-{pid}-"))
    (folder / "payload.bin").write_bytes(b"x" * 10)
    return folder


def test_a_dead_process_s_folder_is_swept_and_a_live_one_s_kept() -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = _folder_of(int(done.stdout))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        kept = _folder_of(live.pid)
        mine = _folder_of(os.getpid())
        assert sweep_stale(KIND) == 1
        assert not dead.exists() and kept.exists() and mine.exists()
        remove_own(KIND)
        assert not mine.exists() and kept.exists()
    finally:
        live.kill()
        live.wait()
    assert sweep_stale(KIND) == 1 and not kept.exists()


def test_a_reused_pid_does_not_keep_an_older_folder() -> None:
    folder = _folder_of(1)  # pid 1 started long before this folder was written
    os.utime(folder, (1_000_000, 1_000_000))
    assert sweep_stale(KIND) == 1 and not folder.exists()


def test_scratch_directory_is_named_by_the_process_and_removed() -> None:
    stale = _folder_of(2**22 + 12345)  # above Linux's pid_max default: no such process
    with scratch_directory(KIND) as work:
        assert work.name.startswith(f"modelyard-{KIND}-{os.getpid()}-") and work.is_dir()
        assert not stale.exists()  # swept as the new one was made
    assert not work.exists()
    folder = scratch_folder(KIND)
    remove_own(KIND)
    assert not folder.exists()
