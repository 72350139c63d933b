"""The baselines' virtual environments, kept apart from the project's .venv.

One venv per baseline family under ``bench/.venvs/`` (git-ignore that folder), so that MLflow's and
BentoML's dependencies can neither change the versions modelyard runs on nor each other's:

* ``web``     Flask + gunicorn, and FastAPI + uvicorn[standard] at the .venv's own versions
* ``mlflow``  MLflow (``mlflow models serve``)
* ``bentoml`` BentoML (adaptive batching)

Every venv gets numpy, pandas, scikit-learn, scipy, joblib and threadpoolctl at exactly the .venv's
versions (as pip constraints), so the same model pickle loads and predicts the same way everywhere.
An install is done once; ``ok.json`` in the venv records what was asked for, ``failed.json`` a
failure (``serve.py setup`` tries failed ones again).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from rich.console import Console

BENCH = Path(__file__).resolve().parent.parent
VENVS = BENCH / ".venvs"

# Versions checked to install on Python 3.11 next to the .venv's numpy/pandas/scikit-learn.
FLASK = "flask==3.1.3"
GUNICORN = "gunicorn==27.0.1"
MLFLOW = "mlflow==3.17.2"  # 3.18.0 needs mlflow-skinny 3.18.0, which the registry lacks
BENTOML = "bentoml==1.4.40"

_MODEL_STACK = ("numpy", "pandas", "scikit-learn", "scipy", "joblib", "threadpoolctl")
_WEB_STACK = ("starlette", "pydantic", "pydantic-core", "uvloop", "httptools")


@dataclass(frozen=True)
class BaselineEnv:
    name: str
    packages: tuple[str, ...]
    constraints: tuple[str, ...]

    @property
    def path(self) -> Path:
        return VENVS / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def wanted(self) -> dict[str, list[str]]:
        return {"packages": list(self.packages), "constraints": list(self.constraints)}

    def state(self) -> str:
        """``ok``, ``failed`` or ``missing`` (never tried, or asked for other versions since)."""
        for state in ("ok", "failed"):
            marker = self.path / f"{state}.json"
            if marker.exists():
                recorded = json.loads(marker.read_text())
                if {k: recorded.get(k) for k in ("packages", "constraints")} == self.wanted():
                    return state
        return "missing"

    def marker(self, state: str) -> dict[str, object]:
        return json.loads((self.path / f"{state}.json").read_text())


def _pins(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{name}=={version(name)}" for name in names)


def baseline_envs() -> dict[str, BaselineEnv]:
    model = _pins(_MODEL_STACK)
    web = (FLASK, GUNICORN, f"fastapi=={version('fastapi')}", f"uvicorn[standard]=={version('uvicorn')}")
    return {
        "web": BaselineEnv("web", web, model + _pins(_WEB_STACK)),
        "mlflow": BaselineEnv("mlflow", (MLFLOW,), model),
        "bentoml": BaselineEnv("bentoml", (BENTOML,), model),
    }


def _size_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=False).stdout
    return float(out.split()[0]) if out.strip() else float("nan")


def install(env: BaselineEnv, console: Console) -> bool:
    """Create ``env`` from scratch with pip; ``True`` when it installed. pip's output goes to a log file."""
    if env.path.exists():
        shutil.rmtree(env.path)
    VENVS.mkdir(parents=True, exist_ok=True)
    log_path = VENVS / f"{env.name}.pip.log"
    started = time.perf_counter()
    steps = [
        ("creating the venv", [sys.executable, "-m", "venv", str(env.path)]),
        ("upgrading pip", [str(env.python), "-m", "pip", "install", "--upgrade", "pip"]),
    ]
    constraints = env.path / "constraints.txt"
    install_cmd = [str(env.python), "-m", "pip", "install", "-c", str(constraints), *env.constraints, *env.packages]
    steps.append((f"pip install {' '.join(env.packages)} (+ the .venv's model stack)", install_cmd))
    with log_path.open("w") as log:
        for i, (what, cmd) in enumerate(steps, 1):
            with console.status(f"[bold]{env.name}[/] {i}/{len(steps)}: {what} (log: {log_path})"):
                t0 = time.perf_counter()
                if cmd is install_cmd:
                    constraints.write_text("\n".join(env.constraints) + "\n")
                log.write(f"\n$ {' '.join(cmd)}\n")
                log.flush()
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
            console.print(f"  {env.name} {i}/{len(steps)}: {what}: {time.perf_counter() - t0:.0f} s")
            if proc.returncode != 0:
                tail = log_path.read_text().splitlines()[-15:]
                env.path.mkdir(parents=True, exist_ok=True)
                (env.path / "failed.json").write_text(json.dumps({**env.wanted(), "log_tail": tail}, indent=1))
                console.print(f"  [red]{env.name}: install failed[/] (the last lines of {log_path}):")
                for line in tail:
                    console.print(f"    {line}", markup=False, highlight=False)
                return False
    seconds = time.perf_counter() - started
    freeze = subprocess.run(
        [str(env.python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    size = _size_mb(env.path)
    record = {**env.wanted(), "install_seconds": round(seconds, 1), "size_mb": size, "freeze": freeze}
    (env.path / "ok.json").write_text(json.dumps(record, indent=1))
    console.print(
        f"  [green]{env.name}: installed[/] in {seconds:.0f} s, {size:,.0f} MB on disk ({len(freeze)} packages)"
    )
    return True


def ensure(names: list[str], console: Console, *, retry_failed: bool = False) -> dict[str, BaselineEnv]:
    """The envs among ``names`` that are installed, installing the ones never tried (once)."""
    envs = baseline_envs()
    ready: dict[str, BaselineEnv] = {}
    for name in names:
        env = envs[name]
        state = env.state()
        if state == "missing" or (state == "failed" and retry_failed):
            console.print(f"[bold]Installing the {name!r} baseline venv in {env.path}[/] (once; later runs reuse it)")
            if install(env, console):
                ready[name] = env
        elif state == "failed":
            console.print(
                f"[yellow]{name}: its install failed before[/] ({env.path / 'failed.json'}); skipped. "
                "`serve.py setup` tries again."
            )
        else:
            ready[name] = env
    return ready
