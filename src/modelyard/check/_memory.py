"""Peak resident memory of loading and scoring the model, measured in a fresh process.

The checking process already holds pandas, the sample, the registry and (in tests) pytest, so its
RSS says little about the model. A child process imports the model's libraries, notes its RSS,
resets the kernel's high-water mark (``/proc/self/clear_refs``), loads the model through the
flavor, scores the sample, and reports the new high-water mark: the memory the model adds at its
peak, plus the whole process's peak.

Run as ``python -m modelyard.check._memory WORKDIR`` (the parent writes the model and the sample there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from modelyard._scratch import scratch_directory
from modelyard.check._result import Check, Status
from modelyard.flavors import SavedModel
from modelyard.flavors._sklearn import compiled_enabled

__all__ = ["Memory", "MemoryMeasurementError", "artifact_check", "measure_memory", "memory_check"]

MIB = 1024 * 1024
_LIBRARIES = {
    "sklearn": ("sklearn", "skops.io"),
    "lightgbm": ("lightgbm",),
    "onnx": ("onnx", "onnxruntime"),
    "python_function": (),
}
_TIMEOUT_S = 300


@dataclass(frozen=True)
class Memory:
    """Resident memory in MB: what the model adds at its peak, and the peak of the whole process."""

    model_mb: float
    process_peak_mb: float
    after_load_mb: float
    baseline_mb: float
    method: str


class MemoryMeasurementError(Exception):
    """The child process failed; the message carries its last error line."""


def measure_memory(saved: SavedModel, frame: pd.DataFrame, *, trust: bool) -> Memory:
    """Load ``saved`` and score ``frame`` in a fresh Python process; report its peak RSS."""
    with scratch_directory("check") as work:  # a killed check's folder is swept by the next
        (work / "payload.bin").write_bytes(saved.payload)
        (work / "model.json").write_text(
            json.dumps({"flavor": saved.flavor, "format": saved.format, "metadata": saved.metadata, "trust": trust})
        )
        frame.to_pickle(work / "sample.pkl")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).exists())
        env.setdefault("OMP_NUM_THREADS", "1")
        env["MODELYARD_SKLEARN_COMPILED"] = str(compiled_enabled()).lower()  # the yard's setting, not only the env's
        done = subprocess.run(
            [sys.executable, "-m", "modelyard.check._memory", str(work)],
            capture_output=True,
            text=True,
            env=env,
            timeout=_TIMEOUT_S,
            check=False,
        )
        out = work / "memory.json"
        if done.returncode != 0 or not out.exists():
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise MemoryMeasurementError(lines[-1] if lines else f"the measuring process exited with {done.returncode}")
        data = json.loads(out.read_text())
    return Memory(**data)


def memory_check(memory: Memory, budget_mb: float | None) -> Check:
    """The memory row: what the model adds at its peak during load and predict, against ``budgets.memory_mb``."""
    measured = f"{memory.model_mb:.1f} MB (process peak {memory.process_peak_mb:.0f} MB)"
    how = f"peak RSS added by loading and scoring, in a fresh process ({memory.method})"
    if budget_mb is None:
        return Check("memory", Status.PASS, f"{how}; no memory budget set", measured=measured)
    budget = f"<= {budget_mb:g} MB"
    if memory.model_mb <= budget_mb:
        return Check("memory", Status.PASS, how, measured=measured, budget=budget)
    return Check(
        "memory",
        Status.FAIL,
        f"the model adds {memory.model_mb:.1f} MB at its peak, over the budget of {budget_mb:g} MB",
        measured=measured,
        budget=budget,
        fix="shrink the model (fewer trees or features, float32 weights) or raise the budget",
    )


def artifact_check(size_bytes: int, budget_mb: float | None) -> Check:
    """The artifact row: the stored artifact's size against ``budgets.artifact_mb``."""
    size_mb = size_bytes / MIB
    measured = f"{size_mb:.2f} MB"
    if budget_mb is None:
        return Check("artifact size", Status.PASS, "no artifact budget set", measured=measured)
    budget = f"<= {budget_mb:g} MB"
    if size_mb <= budget_mb:
        return Check("artifact size", Status.PASS, "the stored artifact", measured=measured, budget=budget)
    return Check(
        "artifact size",
        Status.FAIL,
        f"the artifact is {size_mb:.2f} MB, over the budget of {budget_mb:g} MB",
        measured=measured,
        budget=budget,
        fix="shrink the model (fewer trees, pruning, no training data kept in the estimator) or raise the budget",
    )


# -- the child process -------------------------------------------------------------------------


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class _Sampler(threading.Thread):
    """Fallback when the kernel's high-water mark cannot be reset: poll RSS every millisecond."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss())
            self.stop.wait(0.001)


def _child(work: Path) -> None:
    import gc
    import importlib

    from threadpoolctl import threadpool_limits

    from modelyard.flavors import load_model

    spec = json.loads((work / "model.json").read_text())
    for name in _LIBRARIES.get(spec["flavor"], ()):
        importlib.import_module(name)
    payload = (work / "payload.bin").read_bytes()
    frame = pd.read_pickle(work / "sample.pkl")
    saved = SavedModel(spec["flavor"], spec["format"], payload, spec["metadata"])
    gc.collect()
    baseline = _rss()
    exact = _reset_peak() and _peak() is not None
    sampler = None
    if not exact:
        sampler = _Sampler()
        sampler.start()
    loaded = load_model(saved, trust=spec["trust"])
    after_load = _rss()
    with threadpool_limits(limits=1):
        loaded._predict(frame)
    if exact:
        peak = max(_peak() or 0, _rss())
        method = "kernel high-water mark"
    else:
        assert sampler is not None
        sampler.stop.set()
        sampler.join()
        peak = max(sampler.peak, _rss())
        method = "RSS polled every 1 ms"
    import resource

    process_peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    result = {
        "model_mb": max(peak - baseline, 0) / MIB,
        "process_peak_mb": process_peak / MIB,
        "after_load_mb": after_load / MIB,
        "baseline_mb": baseline / MIB,
        "method": method,
    }
    (work / "memory.json").write_text(json.dumps(result))


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
