"""Lineage gathered at registration: the code's commit, the data's hash, the model's params."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GitState", "data_hash", "git_state", "jsonable", "model_params"]


@dataclass(frozen=True)
class GitState:
    commit: str
    dirty: bool


def git_state(folder: Path | None = None) -> GitState | None:
    """The commit checked out in ``folder`` (the current directory by default), or None outside git."""
    cwd = str(folder or Path.cwd())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return GitState(commit=commit, dirty=bool(status.strip())) if len(commit) == 40 else None


def data_hash(frame: pd.DataFrame) -> str:
    """A sha256 of a frame's columns, dtypes and values (row order matters; the index does not)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe: containers kept, numpy scalars unwrapped, anything else repr'd."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return repr(value)


def model_params(model: Any) -> dict[str, Any]:
    """The hyper-parameters a model reports (scikit-learn's ``get_params``), JSON-safe."""
    get_params = getattr(model, "get_params", None)
    if not callable(get_params):
        return {}
    try:
        params = get_params(deep=False)
    except Exception:  # a third-party estimator that breaks the API; lineage must not fail on it
        return {}
    return {str(k): jsonable(v) for k, v in params.items()}
