"""A registration killed part-way leaves no half entry and a usable store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelyard import Settings, Yard

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from modelyard import Settings, Yard
    from modelyard.demo import build_baseline
    from modelyard.demo._data import load_raw_churn
    from modelyard.demo.features import churn_features

    raw = load_raw_churn().iloc[:500]
    model = build_baseline().fit(churn_features(raw), raw["churned"])

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    where = sys.argv[1]
    if where == "artifact-write":
        import modelyard.artifacts._store as artifacts
        artifacts.os.fsync = die  # bytes written to the temporary file, not yet renamed into place
    elif where == "before-insert":
        from modelyard.store import Store
        Store.insert_version = staticmethod(die)  # artifact complete, no row yet
    elif where == "before-commit":
        from modelyard.store import Store
        Store.append_stage_change = staticmethod(die)  # row inserted, transaction not committed
    yard = Yard(Settings(root=Path(sys.argv[2]), database_url=sys.argv[3]))
    yard.register("churn", model)
    print("registration finished, which it should not have")
    """
)


@pytest.mark.parametrize("where", ["artifact-write", "before-insert", "before-commit"])
def test_a_killed_registration_leaves_no_half_entry(yard_root: Path, store_url: str, where: str, make_model) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, where, str(yard_root), store_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    with Yard(Settings(root=yard_root, database_url=store_url)) as yard:
        assert yard.models("churn") == []
        if where == "artifact-write":
            assert yard.artifacts.stray_temporaries(), "the kill should have left a temporary file"
            assert not any((yard_root / ".modelyard" / "artifacts").glob("??/*"))
        # The store is usable: the next registration is version 1, complete and loadable.
        mv = yard.register("churn", make_model(1.0))
        assert mv.version == 1
        assert yard.history("churn")[0].reason == "registered"
        assert yard.load("churn", 1).score is not None
