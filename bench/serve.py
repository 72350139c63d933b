"""Serving benchmark (issue 5): modelyard's model server against the baselines, a soak, gc.freeze.

    .venv/bin/python bench/serve.py setup                    # once: the baselines' venvs (~2.5 min, 1.8 GB)
    .venv/bin/python bench/serve.py [compare] [--seconds 8]  # the table of issue 5 (~20 min)
        [--servers modelyard,ceiling,modelyard-sklearn,flask,fastapi,mlflow,bentoml]
        [--procs 1,2] [--rounds 1] [--json out.json]
    .venv/bin/python bench/serve.py soak --requests 1000000  # the million-request soak [--workers 2], then
                                                             # the soaked server against a fresh one
    .venv/bin/python bench/serve.py freeze [--seconds 25]    # early vs late, gc.freeze on/off, hot swap
    .venv/bin/python bench/serve.py latency [--rounds 8]     # the c1 target, HTTP and in-process interleaved
    .venv/bin/python bench/serve.py shadow [--rounds 3]      # production's latency with and without a shadow
    .venv/bin/python bench/serve.py loadgen                  # the load generator's own ceiling

Every mode builds the demo yard in a temporary folder (the HistGradientBoosting challenger promoted
to production) and starts each server in its own process on 127.0.0.1.

compare: every server serves that same fitted pipeline and does the same work per request (raw
JSON records -> DataFrame -> ``churn_features`` -> ``predict_proba``):

* ``modelyard``  ``modelyard.serve.serve(yard, workers=N)``, POST /predict/churn, log on (default)
* ``ceiling``    the same server and yard, the production model replaced by a python_function
                 returning a constant (serve_baselines/bench_constant.py): same HTTP, validation,
                 features, batching and log, no model call
* ``modelyard-sklearn``  the same server with ``MODELYARD_SKLEARN_COMPILED=0``: scikit-learn's own
                 ``predict_proba`` instead of the compiled scorer (not one of "the others")
* ``flask``      serve_baselines/flask_app.py under ``gunicorn -w N`` (sync workers)
* ``fastapi``    serve_baselines/fastapi_app.py under ``uvicorn --workers N``
* ``mlflow``     ``mlflow models serve -w N --env-manager local`` on a pyfunc model
                 (serve_baselines/mlflow_model.py), POST /invocations with dataframe_records
* ``bentoml``    serve_baselines/bento_service.py, ``batchable=True`` (adaptive batching), N workers

The baselines run from their own venvs under bench/.venvs/ (serve_baselines/baseline_envs.py;
not the project's .venv; keep bench/.venvs/ out of git; ``compare`` installs a missing one itself),
with the .venv's numpy/pandas/scikit-learn versions so that one pickle loads everywhere. Every
server process gets OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1
(modelyard pins itself to one thread per worker too). No access logs anywhere.

For each server and N in (1, 2) processes: warm-up, then one load per cell {1 row, 100 rows} x
{concurrency 1, 16}, each ``--warmup`` s unmeasured then ``--seconds`` s measured, from a closed-loop
generator in its own process (serve_baselines/loadgen.py: uvloop protocols, pre-encoded requests,
Content-Length-only parsing). With ``--rounds R`` every server is visited R times and each cell
shows its median round. The targets' "in-process predict time" is ``model.score`` on one row's
ready features (feature code excluded), one thread, in this process: the compiled scorer, as the
server runs it; scikit-learn's own ``predict_proba`` is printed beside it. The machine has 2 cores: the
generator shares them with the servers, and others may be using them too: compare ratios from one
run, not numbers across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
BASELINES = BENCH / "serve_baselines"
ROOT = BENCH.parent
sys.path.insert(0, str(BASELINES))

import baseline_envs  # noqa: E402

PIN_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CELLS = ((1, 1), (1, 16), (100, 1), (100, 16))  # (rows per request, concurrency)
SERVERS = ("modelyard", "ceiling", "modelyard-sklearn", "flask", "fastapi", "mlflow", "bentoml")
OTHERS = ("fastapi", "mlflow", "bentoml")  # "the best of the others"

console = Console(width=max(Console().width, 180))


# -- the yard, the model, the requests ---------------------------------------------------------


@dataclass
class Fixture:
    """Everything the servers serve, built once in a temporary folder."""

    tmp: Path
    yard: Path  # HistGradientBoosting in production
    ceiling_yard: Path | None = None  # the constant python_function in production
    model_dir: Path | None = None  # model.joblib + features.py, for the baselines
    mlflow_model: Path | None = None
    records: list[dict[str, Any]] = field(default_factory=list)  # 100 raw request records


def _build_yard(folder: Path) -> None:
    from modelyard.demo import run_demo

    yard = run_demo(folder, console=Console(file=io.StringIO()))
    challenger = next(mv for mv in yard.models("churn") if mv.tags.get("kind") == "challenger")
    if challenger.stage.value != "production":  # the registry itself: no evaluation policy in a bench
        yard.registry.promote("churn", challenger.version, reason="bench: the HistGradientBoosting challenger serves")
    yard.close()


def _build_ceiling_yard(yard: Path, folder: Path) -> None:
    """A copy of the yard whose production version is ``bench_constant.constant_scores``."""
    from bench_constant import constant_scores

    from modelyard import open_yard

    shutil.copytree(yard, folder)
    with open_yard(folder) as y:
        mv = y.register("churn", constant_scores, description="bench: the ceiling, a constant", code_folder=folder)
        y.registry.promote("churn", mv.version, reason="bench: the ceiling serves a constant")


def _export_model(yard: Path, out: Path) -> None:
    """The production pipeline as model.joblib, and the feature code as features.py."""
    import joblib

    import modelyard.demo.features
    from modelyard import open_yard

    out.mkdir(parents=True)
    with open_yard(yard) as y:
        joblib.dump(y.load("churn", "production").raw, out / "model.joblib")
    shutil.copy(modelyard.demo.features.__file__, out / "features.py")


def _records(n: int = 100) -> list[dict[str, Any]]:
    from modelyard.demo._data import load_raw_churn

    raw = load_raw_churn().iloc[-n:].drop(columns=["churned", "signup_date"])
    records: list[dict[str, Any]] = orjson.loads(orjson.dumps(raw.to_dict("records")))  # NaN -> null
    records.reverse()  # records[0]: the row the earlier single-row benchmarks sent
    return records


def _fixture(tmp: Path, *, ceiling: bool = False, model_dir: bool = False) -> Fixture:
    with console.status("building the demo yard (HistGradientBoosting in production)"):
        t0 = time.perf_counter()
        fx = Fixture(tmp=tmp, yard=tmp / "yard", records=_records())
        _build_yard(fx.yard)
        if ceiling:
            fx.ceiling_yard = tmp / "yard-ceiling"
            _build_ceiling_yard(fx.yard, fx.ceiling_yard)
        if model_dir:
            fx.model_dir = tmp / "model"
            _export_model(fx.yard, fx.model_dir)
    console.print(f"demo yard built in {time.perf_counter() - t0:.0f} s ({tmp})")
    return fx


def _http_request(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _plain_body(records: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(records[0] if len(records) == 1 else records)


# -- servers ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerSpec:
    """How to start one server with N processes, probe it, and ask it for a prediction."""

    name: str
    label: str
    command: Callable[[int, int], list[str]]  # (port, workers) -> argv
    health: str
    path: str
    body: Callable[[list[dict[str, Any]]], bytes]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = BASELINES
    startup_seconds: float = 120.0


def _modelyard_spec(
    name: str, label: str, yard: Path, log_folder: Path, *, compiled: bool = True, **settings: Any
) -> ServerSpec:
    def command(port: int, workers: int) -> list[str]:
        script = textwrap.dedent(
            f"""
            from modelyard import open_yard
            from modelyard.serve import serve
            serve(open_yard({str(yard)!r}), "127.0.0.1", {port}, {workers}, log_level="warning")
            """
        )
        return [sys.executable, "-c", script]

    env = {"MODELYARD_SERVE_LOG_FOLDER": str(log_folder), "PYTHONPATH": str(BASELINES)}
    if not compiled:
        env["MODELYARD_SKLEARN_COMPILED"] = "0"
    env.update({f"MODELYARD_SERVE_{k.upper()}": str(v) for k, v in settings.items()})
    return ServerSpec(name, label, command, "/v2/health/ready", "/predict/churn", _plain_body, env, cwd=ROOT)


def _specs(fx: Fixture, envs: dict[str, baseline_envs.BaselineEnv]) -> dict[str, ServerSpec]:
    specs = {
        "modelyard": _modelyard_spec("modelyard", "modelyard", fx.yard, fx.tmp / "log-modelyard"),
    }
    if fx.ceiling_yard is not None:
        specs["ceiling"] = _modelyard_spec(
            "ceiling", "modelyard, constant model (ceiling)", fx.ceiling_yard, fx.tmp / "log-ceiling"
        )
    specs["modelyard-sklearn"] = _modelyard_spec(
        "modelyard-sklearn",
        "modelyard, scikit-learn's own predict",
        fx.yard,
        fx.tmp / "log-modelyard-sklearn",
        compiled=False,
    )
    model_env = {"BENCH_MODEL_DIR": str(fx.model_dir)}
    if "web" in envs:
        web = envs["web"].bin
        specs["flask"] = ServerSpec(
            "flask",
            "Flask + gunicorn (sync)",
            lambda port, n: [str(web / "gunicorn"), "-w", str(n), "-b", f"127.0.0.1:{port}", "flask_app:app"],
            "/health",
            "/predict/churn",
            _plain_body,
            model_env,
        )
        specs["fastapi"] = ServerSpec(
            "fastapi",
            "FastAPI + uvicorn",
            lambda port, n: [
                *(str(web / "uvicorn"), "fastapi_app:app", "--host", "127.0.0.1", "--port", str(port)),
                *("--workers", str(n), "--no-access-log", "--log-level", "warning"),
            ],
            "/health",
            "/predict/churn",
            _plain_body,
            model_env,
        )
    if "mlflow" in envs and fx.mlflow_model is not None:
        mlflow_bin, mlflow_model = envs["mlflow"].bin, fx.mlflow_model
        specs["mlflow"] = ServerSpec(
            "mlflow",
            "mlflow models serve",
            lambda port, n: [
                *(str(mlflow_bin / "mlflow"), "models", "serve", "-m", str(mlflow_model)),
                *("-h", "127.0.0.1", "-p", str(port), "-w", str(n), "--env-manager", "local"),
            ],
            "/ping",
            "/invocations",
            lambda records: orjson.dumps({"dataframe_records": records}),
            {"MLFLOW_TRACKING_URI": str(fx.tmp / "mlruns"), "PATH": f"{mlflow_bin}:{os.environ['PATH']}"},
        )
    if "bentoml" in envs:
        bento_bin = envs["bentoml"].bin
        specs["bentoml"] = ServerSpec(
            "bentoml",
            "BentoML (adaptive batching)",
            lambda port, n: [
                *(str(bento_bin / "bentoml"), "serve", "bento_service:Churn"),
                *("--host", "127.0.0.1", "--port", str(port), "--working-dir", str(BASELINES)),
            ],
            "/readyz",
            "/predict",
            lambda records: orjson.dumps({"records": records}),
            {
                **model_env,
                "BENTOML_DO_NOT_TRACK": "True",
                "BENTOML_HOME": str(fx.tmp / "bentoml"),
                "PATH": f"{bento_bin}:{os.environ['PATH']}",
            },
        )
    return specs


def _probe(port: int, path: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@contextlib.contextmanager
def running(spec: ServerSpec, workers: int, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start ``spec`` with ``workers`` processes on a free port; stop its process group afterwards."""
    port = _free_port()
    env = {**os.environ, **PIN_THREADS, **spec.env}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            spec.command(port, workers),
            cwd=spec.cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + spec.startup_seconds
        while not _probe(port, spec.health):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"{spec.name} did not start (exit {proc.poll()}); the end of {log}:\n{tail}")
            time.sleep(0.2)
        yield proc, port
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group this bench started (the server and its workers), SIGKILL after 30 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stray workers of a group whose leader is gone


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Load:
    """One generator run: per-request arrays (completion order) and the generator's own cost."""

    start: np.ndarray  # s since the measurement began
    latency: np.ndarray  # s
    status: np.ndarray
    version: np.ndarray | None
    seconds: float
    cpu_seconds: float
    t_measure: float  # the generator's time.perf_counter() when the measurement began

    @property
    def n(self) -> int:
        return len(self.latency)

    @property
    def errors(self) -> int:
        return int((self.status != 200).sum())

    @property
    def rps(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("nan")

    def pct(self, q: float) -> float:
        ok = self.latency[self.status == 200]
        return float(np.percentile(ok, q) * 1000) if len(ok) else float("nan")

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.n, 1) * 1e6


def _loadgen_argv(
    port: int,
    request: bytes,
    tmp: Path,
    *,
    concurrency: int,
    warmup: float,
    seconds: float = 0.0,
    requests: int | None = None,
    parse_version: bool = False,
    progress: float = 0.0,
) -> tuple[list[str], Path]:
    fd, req_path = tempfile.mkstemp(dir=tmp, suffix=".http")
    os.write(fd, request)
    os.close(fd)
    out = Path(req_path).with_suffix(".npz")
    argv = [sys.executable, str(BASELINES / "loadgen.py"), "--port", str(port), "--request", req_path]
    argv += ["--concurrency", str(concurrency), "--warmup", str(warmup), "--seconds", str(seconds), "--out", str(out)]
    if requests is not None:
        argv += ["--requests", str(requests)]
    if parse_version:
        argv.append("--parse-version")
    if progress:
        argv += ["--progress", str(progress)]
    return argv, out


def _read_load(summary_line: str, out: Path) -> Load:
    summary = json.loads(summary_line)
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files}
    out.unlink()
    return Load(
        arrays["start"],
        arrays["latency"],
        arrays["status"],
        arrays.get("version"),
        summary["seconds"],
        summary["cpu_seconds"],
        summary["t_measure"],
    )


def drive(port: int, request: bytes, tmp: Path, **options: Any) -> Load:
    """Run the generator to the end (see :func:`_loadgen_argv` for the options)."""
    argv, out = _loadgen_argv(port, request, tmp, **options)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr[-2000:]}")
    return _read_load(done.stdout.strip().splitlines()[-1], out)


# -- compare: the table of issue 5 ---------------------------------------------------------------


class InProcess:
    """The served model loaded in this process, timed one row at a time on one thread (as the
    server pins itself): ``model.score`` on ready features, or the feature code plus ``model.score``
    on the raw row (what every baseline does per request)."""

    def __init__(self, yard: Path, record: dict[str, Any], *, compiled: bool = True) -> None:
        import pandas as pd

        from modelyard import open_yard
        from modelyard.demo.features import churn_features

        with open_yard(yard) as y:
            model = y.load("churn", "production")
        if not compiled:
            model.compiled = None  # type: ignore[attr-defined]  # scikit-learn's own predict_proba
        ready = churn_features(pd.DataFrame([record]))
        self._calls = {
            False: lambda: model.score(ready),
            True: lambda: model.score(churn_features(pd.DataFrame([record]))),
        }

    def times(self, *, features: bool, calls: int = 0, seconds: float = 0.0, warm: int = 20) -> np.ndarray:
        """Seconds per call, for ``calls`` calls or for ``seconds`` of calls."""
        from threadpoolctl import threadpool_limits

        call = self._calls[features]
        with threadpool_limits(1):
            for _ in range(warm):
                call()
            out: list[float] = []
            end = time.perf_counter() + seconds
            while len(out) < calls or (seconds and time.perf_counter() < end):
                t0 = time.perf_counter()
                call()
                out.append(time.perf_counter() - t0)
        return np.asarray(out)


def _in_process_predict_ms(
    yard: Path, record: dict[str, Any], *, compiled: bool = True
) -> tuple[float, float, float, float]:
    """p50 and p99 (ms) of ``model.score`` on one row's ready features, then of the feature code
    plus ``model.score`` on the raw row; 1,000 calls each (see :class:`InProcess`)."""
    timer = InProcess(yard, record, compiled=compiled)
    alone, with_features = (timer.times(features=f, calls=1000, warm=100) * 1000 for f in (False, True))
    return (
        float(np.percentile(alone, 50)),
        float(np.percentile(alone, 99)),
        float(np.percentile(with_features, 50)),
        float(np.percentile(with_features, 99)),
    )


def _generator_ceiling(tmp: Path, seconds: float, request: bytes) -> dict[int, Load]:
    """The generator against serve_baselines/trivial_server.py (no framework, constant answer)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(BASELINES / "trivial_server.py"), str(port)], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not _probe(port, "/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the trivial server did not start")
            time.sleep(0.1)
        return {c: drive(port, request, tmp, concurrency=c, warmup=1.0, seconds=seconds) for c in (1, 16)}
    finally:
        _stop(proc)


def _save_mlflow_model(env: baseline_envs.BaselineEnv, model_dir: Path, out: Path) -> bool:
    done = subprocess.run(
        [str(env.python), str(BASELINES / "mlflow_model.py"), str(model_dir), str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **PIN_THREADS},
    )
    if done.returncode != 0:
        console.print(f"[red]mlflow: saving the pyfunc model failed[/]; skipped:\n{done.stderr[-1500:]}")
        return False
    return True


def _fmt_rate(load: Load | None) -> str:
    if load is None:
        return "-"
    return f"{load.rps:,.0f}" + ("!" if load.errors else "")


def _fmt_ms(value: float | None) -> str:
    if value is None or np.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _measure(
    spec: ServerSpec, n: int, fx: Fixture, tmp: Path, args: argparse.Namespace, status: str
) -> tuple[dict[tuple[int, int], Load], tuple[float, float, float, float] | None]:
    """Start ``spec`` with ``n`` processes, warm it up, and load it with every cell in turn.

    For modelyard, the in-process predict times are measured again right after its 1-row c1 cell
    (the server idle): this machine's speed drifts by a millisecond or two over minutes, which is
    more than the c1 target's margin, so the cell is compared with what the model did next to it.
    """
    requests = {rows: _http_request(spec.path, spec.body(fx.records[:rows])) for rows in (1, 100)}
    cells: dict[tuple[int, int], Load] = {}
    adjacent: tuple[float, float, float, float] | None = None
    with running(spec, n, tmp / "logs" / f"{spec.name}-{n}.log") as (_, port):
        with console.status(f"{status} {spec.label}, {n} process(es): warming up"):
            for rows in (1, 100):
                drive(port, requests[rows], tmp, concurrency=16, warmup=0.0, seconds=args.warmup_server / 2)
        for rows, c in CELLS:
            with console.status(f"{status} {spec.label}, {n} process(es): {rows} row(s), concurrency {c}"):
                load = drive(port, requests[rows], tmp, concurrency=c, warmup=args.warmup, seconds=args.seconds)
            cells[(rows, c)] = load
            if spec.name == "modelyard" and (rows, c) == (1, 1):
                with console.status(f"{status} in-process predict times next to the 1-row c1 cell"):
                    adjacent = _in_process_predict_ms(fx.yard, fx.records[0])
            console.print(
                f"  {spec.name:<9} x{n} rows={rows:<3} c={c:<2}: {load.rps:>7,.0f} req/s  "
                f"p50 {load.pct(50):7.2f} ms  p99 {load.pct(99):7.2f} ms  errors {load.errors}  "
                f"(generator {load.cpu_seconds / load.seconds:.0%} CPU)"
            )
    return cells, adjacent


def compare(args: argparse.Namespace) -> None:
    servers = [s for s in args.servers.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown:
        raise SystemExit(f"--servers: unknown {unknown}; choose from {', '.join(SERVERS)}")
    procs = [int(p) for p in args.procs.split(",")]
    wanted_envs = [
        e
        for e, names in (("web", ("flask", "fastapi")), ("mlflow", ("mlflow",)), ("bentoml", ("bentoml",)))
        if set(names) & set(servers)
    ]
    envs = baseline_envs.ensure(wanted_envs, console) if wanted_envs else {}

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fx = _fixture(tmp, ceiling="ceiling" in servers, model_dir=True)
        if "mlflow" in envs:
            fx.mlflow_model = tmp / "mlflow-model"
            if not _save_mlflow_model(envs["mlflow"], fx.model_dir, fx.mlflow_model):  # type: ignore[arg-type]
                fx.mlflow_model = None
        specs = _specs(fx, envs)
        absent = [s for s in servers if s not in specs]
        if absent:
            console.print(f"[yellow]not measured (not installed): {', '.join(absent)}[/]")
        servers = [s for s in servers if s in specs]

        model_ms = _in_process_predict_ms(fx.yard, fx.records[0])
        sklearn_ms = _in_process_predict_ms(fx.yard, fx.records[0], compiled=False)
        for what, ms in (("model.score", model_ms), ("scikit-learn's predict_proba", sklearn_ms)):
            console.print(
                f"in-process, one row, 1 thread: {what} p50 {ms[0]:.3f} ms, p99 {ms[1]:.3f} ms; "
                f"feature code + {what} p50 {ms[2]:.3f} ms, p99 {ms[3]:.3f} ms"
            )
        one_row = _http_request("/predict/churn", _plain_body(fx.records[:1]))
        with console.status("measuring the load generator against a trivial server"):
            gen_ceiling = _generator_ceiling(tmp, min(args.seconds, 5.0), one_row)
        for c, load in gen_ceiling.items():
            console.print(
                f"load generator ceiling, concurrency {c}: {load.rps:,.0f} req/s, p50 {load.pct(50):.3f} ms, "
                f"p99 {load.pct(99):.3f} ms; generator CPU {load.cpu_us_per_request:.1f} µs/request"
            )

        results: dict[tuple[str, int], dict[tuple[int, int], Load]] = {}
        failures: dict[tuple[str, int], str] = {}
        runs: dict[tuple[str, int], dict[tuple[int, int], list[Load]]] = {}
        adjacent: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
        total = args.rounds * len(servers) * len(procs) * len(CELLS)
        started = time.perf_counter()
        for round_ in range(args.rounds):
            for name in servers:
                for n in procs:
                    key = (name, n)
                    if key in failures:
                        continue
                    at = round_ * len(servers) * len(procs) + servers.index(name) * len(procs) + procs.index(n)
                    status = f"[{at * len(CELLS)}/{total}, {time.perf_counter() - started:.0f} s]"
                    try:
                        cells, near = _measure(specs[name], n, fx, tmp, args, status)
                        if near is not None:
                            adjacent.setdefault(key, []).append(near)
                    except RuntimeError as exc:
                        failures[key] = str(exc)
                        console.print(f"[red]{exc}[/]")
                        continue
                    for cell, load in cells.items():
                        runs.setdefault(key, {}).setdefault(cell, []).append(load)
        for key, cells in runs.items():  # the median round of each cell, by req/s
            results[key] = {cell: sorted(loads, key=lambda x: x.rps)[len(loads) // 2] for cell, loads in cells.items()}

    near_ms = {key: tuple(float(np.median(v)) for v in zip(*found, strict=True)) for key, found in adjacent.items()}
    _print_compare(args, servers, procs, specs, results, failures, model_ms, gen_ceiling, near_ms)
    if args.json:
        _write_json(args.json, results, model_ms, gen_ceiling, near_ms)


def _print_compare(
    args: argparse.Namespace,
    servers: list[str],
    procs: list[int],
    specs: dict[str, ServerSpec],
    results: dict[tuple[str, int], dict[tuple[int, int], Load]],
    failures: dict[tuple[str, int], str],
    model_ms: tuple[float, float, float, float],
    gen_ceiling: dict[int, Load],
    near_ms: dict[tuple[str, int], tuple[float, ...]] | None = None,
) -> None:
    table = Table(
        title=(
            f"Serving the demo's HistGradientBoosting churn model: {args.seconds:g} s per cell, "
            f"{os.cpu_count()} cores (shared with the generator), 1 native thread per process"
        ),
        caption="req/s, then p50 and p99 latency in ms, per rows/request x concurrency. ! = some requests failed.",
    )
    table.add_column("server", no_wrap=True)
    table.add_column("procs", justify="right")
    for rows, c in CELLS:
        for what in ("req/s", "p50", "p99"):
            table.add_column(f"{rows}r c{c}\n{what}", justify="right")
    for name in servers:
        for n in procs:
            cells = results.get((name, n), {})
            row = [specs[name].label, str(n)]
            for cell in CELLS:
                load = cells.get(cell)
                row += [
                    _fmt_rate(load),
                    _fmt_ms(load.pct(50) if load else None),
                    _fmt_ms(load.pct(99) if load else None),
                ]
            table.add_row(*row, end_section=n == procs[-1])
    console.print()
    console.print(table)
    for key, why in failures.items():
        console.print(f"[red]{key[0]} x{key[1]} failed:[/] {why.splitlines()[0]}")

    def get(name: str, n: int, cell: tuple[int, int]) -> Load | None:
        return results.get((name, n), {}).get(cell)

    def mark(ok: bool | None) -> str:
        return "[green]met[/]" if ok else "[red]not met[/]" if ok is not None else "[yellow]n/a[/]"

    console.print()
    console.print("[bold]Targets (ratios within this run)[/]")
    model_p50, model_p99, featured_p50, featured_p99 = model_ms
    console.print(f"  in-process model.score on one row, 1 thread: p50 {model_p50:.3f} ms, p99 {model_p99:.3f} ms")
    console.print(f"  in-process feature code + model.score: p50 {featured_p50:.3f} ms, p99 {featured_p99:.3f} ms")
    for n in procs:
        my16, my1 = get("modelyard", n, (1, 16)), get("modelyard", n, (1, 1))
        flask16 = get("flask", n, (1, 16))
        others = [(o, get(o, n, (1, 16))) for o in OTHERS]
        others = [(o, load) for o, load in others if load is not None]
        console.print(f"  [bold]{n} process(es)[/]")
        if my16 is not None and flask16 is not None:
            ratio = my16.rps / flask16.rps
            console.print(
                f"    1-row c16 req/s vs Flask: {my16.rps:,.0f} / {flask16.rps:,.0f} = {ratio:.2f}x "
                f"(target >= 3x): {mark(ratio >= 3)}"
            )
            p99, fp99 = my16.pct(99), flask16.pct(99)
            console.print(f"    1-row c16 p99 vs Flask: {p99:.2f} ms vs {fp99:.2f} ms (target <=): {mark(p99 <= fp99)}")
        else:
            console.print(f"    vs Flask: {mark(None)}")
        if my16 is not None and others:
            best, best_load = max(others, key=lambda o: o[1].rps)
            ratio = my16.rps / best_load.rps
            console.print(
                f"    1-row c16 req/s vs the best other ({best}): {my16.rps:,.0f} / {best_load.rps:,.0f} "
                f"= {ratio:.2f}x "
                f"(target >= 2.5x): {mark(ratio >= 2.5)}"
            )
        plain16 = get("modelyard-sklearn", n, (1, 16))
        if my16 is not None and plain16 is not None:
            versus = f", {plain16.rps / flask16.rps:.2f}x Flask" if flask16 is not None else ""
            console.print(
                f"    for scale, modelyard on scikit-learn's own predict (compiled scoring off), 1-row c16: "
                f"{plain16.rps:,.0f} req/s{versus}; compiled scoring gives {my16.rps / plain16.rps:.2f}x that"
            )
        if my1 is not None:
            near = (near_ms or {}).get(("modelyard", n))
            alone_p99, with_features_p99 = (near[1], near[3]) if near else (model_p99, featured_p99)
            when = "measured right after this cell" if near else "measured at the start"
            if near:
                console.print(
                    f"    in-process, {when}: model.score p50 {near[0]:.2f} p99 {near[1]:.2f} ms; "
                    f"with the feature code p50 {near[2]:.2f} p99 {near[3]:.2f} ms"
                )
            gap = my1.pct(99) - alone_p99
            console.print(
                f"    1-row c1 p99 {my1.pct(99):.2f} ms - in-process predict p99 {alone_p99:.2f} ms = {gap:+.2f} ms "
                f"(target <= 1 ms): {mark(gap <= 1.0)}"
            )
            gap2 = my1.pct(99) - with_features_p99
            console.print(
                f"    1-row c1 p99 - in-process feature code + predict p99 {with_features_p99:.2f} ms = {gap2:+.2f} ms "
                f"(the same target, counting the feature code every server runs): {mark(gap2 <= 1.0)}"
            )
            flask1 = get("flask", n, (1, 1))
            if flask1 is not None:
                console.print(
                    f"    for scale, 1-row c1: modelyard p50 {my1.pct(50):.2f} / p99 {my1.pct(99):.2f} ms, "
                    f"Flask p50 {flask1.pct(50):.2f} / p99 {flask1.pct(99):.2f} ms"
                )
        ceil16 = get("ceiling", n, (1, 16))
        if my16 is not None and ceil16 is not None:
            share = my16.rps / ceil16.rps
            line = (
                f"    ceiling (constant model), 1-row c16: {my16.rps:,.0f} / {ceil16.rps:,.0f} = {share:.0%} "
                f"(goal >= 70%): {mark(share >= 0.7)}"
            )
            others_cells = [
                f"{rows}r c{c} {mine.rps / ceil.rps:.0%}"
                for rows, c in CELLS
                if (rows, c) != (1, 16)
                and (mine := get("modelyard", n, (rows, c))) is not None
                and (ceil := get("ceiling", n, (rows, c))) is not None
            ]
            console.print(line + (f"; other cells: {', '.join(others_cells)}" if others_cells else ""))
    if any(name == "mlflow" and n > 1 for name, n in results):
        console.print(
            "  note: `mlflow models serve -w N` (N > 1) runs plain uvicorn workers (asyncio + h11, no uvloop): the "
            "socket they share is made with proto 0, so asyncio never sets TCP_NODELAY on its connections, and h11's "
            "separate head and body writes meet the client's delayed ACK (~40 ms at concurrency 1). That is MLflow "
            "as installed; with -w 1 uvicorn binds through asyncio and the stall is gone."
        )
    loads = [load for cells in results.values() for load in cells.values()]
    if loads:
        busiest = max(loads, key=lambda load: load.rps)
        console.print(
            f"  load generator: its ceiling against a trivial server {gen_ceiling[16].rps:,.0f} req/s at c16 "
            f"({gen_ceiling[1].rps:,.0f} at c1); {gen_ceiling[16].cpu_us_per_request:.0f} µs of CPU per request; "
            f"in the busiest cell above ({busiest.rps:,.0f} req/s) it used "
            f"{busiest.cpu_seconds / busiest.seconds:.0%} of one core"
        )


_NEAR_KEYS = ("predict_p50", "predict_p99", "features_p50", "features_p99")


def _write_json(
    path: str,
    results: dict[tuple[str, int], dict[tuple[int, int], Load]],
    model_ms: tuple[float, float, float, float],
    gen: dict[int, Load],
    near_ms: dict[tuple[str, int], tuple[float, ...]],
) -> None:
    def summary(load: Load) -> dict[str, float]:
        return {
            "rps": load.rps,
            "p50_ms": load.pct(50),
            "p99_ms": load.pct(99),
            "requests": load.n,
            "errors": load.errors,
            "generator_cpu_share": load.cpu_seconds / load.seconds,
        }

    data = {
        "cores": os.cpu_count(),
        "in_process_predict_ms": {"p50": model_ms[0], "p99": model_ms[1]},
        "in_process_features_and_predict_ms": {"p50": model_ms[2], "p99": model_ms[3]},
        "in_process_next_to_c1_ms": [
            {"server": name, "procs": n, **dict(zip(_NEAR_KEYS, v, strict=True))} for (name, n), v in near_ms.items()
        ],
        "generator_ceiling": {str(c): summary(load) for c, load in gen.items()},
        "results": [
            {"server": name, "procs": n, "rows": rows, "concurrency": c, **summary(load)}
            for (name, n), cells in results.items()
            for (rows, c), load in cells.items()
        ],
    }
    Path(path).write_text(json.dumps(data, indent=1))
    console.print(f"results written to {path}")


# -- loadgen: the generator's own ceiling ------------------------------------------------------


def loadgen(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        request = _http_request("/predict/churn", _plain_body(_records(1)))
        for c, load in _generator_ceiling(Path(tmp_name), args.seconds, request).items():
            console.print(
                f"concurrency {c}: {load.rps:,.0f} req/s, p50 {load.pct(50):.3f} ms, p99 {load.pct(99):.3f} ms, "
                f"generator CPU {load.cpu_us_per_request:.1f} µs/request "
                f"({load.cpu_seconds / load.seconds:.0%} of a core)"
            )


# -- soak: a million requests ------------------------------------------------------------------


def _process_tree(pid: int) -> list[Any]:
    """``pid`` and its descendants as psutil processes; empty when ``pid`` is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants."""
    import psutil

    procs = _process_tree(pid)
    if not procs:
        return float("nan")
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def _machine_probe_us() -> float:
    """CPU time of a fixed bit of Python (about 1 ms): how fast this machine runs code right now.

    Thread CPU time, not wall time, so waiting for a core does not count; a slower probe means
    slower cores (a busy hyperthread sibling, a lower clock), which slow the server just as much.
    """
    t0 = time.thread_time()
    x = 0
    for i in range(20_000):
        x += i * i
    return (time.thread_time() - t0) * 1e6


def _rss_bytes(pid: int) -> dict[int, int]:
    """RSS of ``pid`` and its descendants, by pid."""
    import psutil

    out = {}
    for p in _process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            out[p.pid] = p.memory_info().rss
    return out


def _folder_bytes(folder: Path) -> tuple[int, int]:
    """Bytes and count of the finished log files (a part being written is renamed under our feet)."""
    sizes = []
    for path in folder.rglob("*.parquet") if folder.exists() else ():
        with contextlib.suppress(FileNotFoundError):
            sizes.append(path.stat().st_size)
    return sum(sizes), len(sizes)


def _get(port: int, path: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).split(b"\r\n\r\n", 1)[1].decode()


def _gc_metrics(text: str) -> list[str]:
    """The server's GC pause histogram (Prometheus text), summarised per generation."""
    count: dict[str, float] = {}
    total: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for line in text.splitlines():
        m = re.match(r"modelyard_gc_pause_seconds_(count|sum|bucket)\{(.*)\} (\S+)", line)
        if not m:
            continue
        kind, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
        g = labels.get("generation", "?")
        if kind == "count":
            count[g] = value
        elif kind == "sum":
            total[g] = value
        else:
            buckets.setdefault(g, []).append((float(labels["le"]), value))
    out = []
    for g in sorted(count):
        n, s = int(count[g]), total.get(g, 0.0)
        bound = next((le for le, c in sorted(buckets.get(g, [])) if c >= n), float("nan"))
        mean = s / n * 1000 if n else 0.0
        out.append(
            f"generation {g}: {n:,} pauses, {s * 1000:,.1f} ms in all, mean {mean:.3f} ms, "
            f"the longest <= {bound * 1000:g} ms"
        )
    frozen = re.search(r"^modelyard_gc_frozen_objects (\S+)", text, re.M)
    if frozen:
        out.append(f"objects frozen by gc.freeze: {float(frozen.group(1)):,.0f}")
    return out


def soak(args: argparse.Namespace) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    n_total = args.requests
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fx = _fixture(tmp)
        log_folder = tmp / "predictions"
        spec = _modelyard_spec("modelyard", "modelyard", fx.yard, log_folder)
        request = _http_request("/predict/churn", _plain_body(fx.records[:1]))
        samples: list[tuple[float, int, dict[int, int]]] = []  # (perf_counter, requests done, rss by pid)
        cpu: list[tuple[int, float, float]] = []  # (requests done, server CPU s, machine probe µs)
        log_samples: list[tuple[int, int, int]] = []  # (requests done, log bytes, log files)
        with running(spec, args.workers, tmp / "server.log") as (proc, port):
            with console.status("warming up"):
                drive(port, request, tmp, concurrency=args.concurrency, warmup=0.0, seconds=args.warmup)
            argv, out = _loadgen_argv(
                port, request, tmp, concurrency=args.concurrency, warmup=1.0, requests=n_total, progress=0.25
            )
            gen = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
            done = [0]
            last_line = [""]

            def read() -> None:
                for line in gen.stdout or ():
                    if line.startswith("progress "):
                        done[0] = int(line.split()[1])
                    else:
                        last_line[0] = line

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            progress = Progress(
                TextColumn("soak"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("RSS {task.fields[rss]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            with progress, _ended_with(gen):
                task = progress.add_task("soak", total=n_total, rate="", rss="")
                next_log = 0.0
                while gen.poll() is None:
                    time.sleep(1.0)
                    now = time.perf_counter()
                    rss = _rss_bytes(proc.pid)
                    samples.append((now, done[0], rss))
                    cpu.append((done[0], _cpu_seconds(proc.pid), _machine_probe_us()))
                    if now >= next_log:
                        log_samples.append((done[0], *_folder_bytes(log_folder)))
                        next_log = now + 10
                    rate = ""
                    if len(samples) >= 6:
                        t_a, n_a, _ = samples[-6]
                        rate = f"{(done[0] - n_a) / (now - t_a):,.0f} req/s"
                    progress.update(task, completed=done[0], rate=rate, rss=f"{sum(rss.values()) / 2**20:,.0f} MB")
                progress.update(task, completed=n_total)
            reader.join(10)
            if gen.returncode != 0:
                raise RuntimeError(f"the load generator failed (exit {gen.returncode})")
            load = _read_load(last_line[0], out)
            samples.append((time.perf_counter(), n_total, _rss_bytes(proc.pid)))
            cpu.append((n_total, _cpu_seconds(proc.pid), _machine_probe_us()))
            time.sleep(args.log_settle)  # let the log writer flush its last rows before measuring disk
            log_samples.append((n_total, *_folder_bytes(log_folder)))
            gc_lines = _gc_metrics(_get(port, "/metrics"))
            fresh_spec = _modelyard_spec("modelyard", "modelyard (fresh)", fx.yard, tmp / "predictions-fresh")
            against = _soaked_against_fresh(args, proc, port, fresh_spec, request, tmp)
    _print_soak(args, load, samples, log_samples, gc_lines, cpu)
    _print_soaked_against_fresh(args, against)


def _soaked_against_fresh(
    args: argparse.Namespace,
    soaked: subprocess.Popen[bytes],
    soaked_port: int,
    spec: ServerSpec,
    request: bytes,
    tmp: Path,
) -> dict[str, tuple[np.ndarray, float]]:
    """The soaked server against a fresh one, alternating rounds of the same load: the machine's
    drift over the soak (this machine's speed moves by 10-20% over minutes) falls on both alike.
    Per side: pooled latencies (ms) and CPU ms per request."""
    out: dict[str, tuple[list[np.ndarray], list[float], list[int]]] = {}
    with running(spec, args.workers, tmp / "fresh-server.log") as (fresh, fresh_port):
        with console.status("a fresh server: warming up"):
            drive(fresh_port, request, tmp, concurrency=args.concurrency, warmup=0.0, seconds=args.warmup)
        for r in range(args.ab_rounds):
            for side, proc, port in (("soaked", soaked, soaked_port), ("fresh", fresh, fresh_port)):
                with console.status(f"soaked against fresh, round {r + 1}/{args.ab_rounds}: {side}"):
                    before = _cpu_seconds(proc.pid)
                    load = drive(port, request, tmp, concurrency=args.concurrency, warmup=0.0, seconds=args.ab_seconds)
                    used = _cpu_seconds(proc.pid) - before
                lat, cpu, n = out.setdefault(side, ([], [], []))
                lat.append(load.latency[load.status == 200] * 1000)
                cpu.append(used)
                n.append(load.n)
    return {side: (np.concatenate(lat), sum(cpu) / sum(n) * 1000) for side, (lat, cpu, n) in out.items()}


def _print_soaked_against_fresh(args: argparse.Namespace, against: dict[str, tuple[np.ndarray, float]]) -> None:
    (soaked, soaked_cpu), (fresh, fresh_cpu) = against["soaked"], against["fresh"]
    ratio = np.percentile(soaked, 99) / np.percentile(fresh, 99)
    ok = "[green]within 10%[/]" if ratio <= 1.10 else "[red]over 10%[/]"
    console.print(
        f"soaked against a fresh server, {args.ab_rounds} alternating rounds of {args.ab_seconds:g} s each: "
        f"p50 {np.percentile(soaked, 50):.2f} vs {np.percentile(fresh, 50):.2f} ms, "
        f"p99 {np.percentile(soaked, 99):.2f} vs {np.percentile(fresh, 99):.2f} ms (soaked/fresh {ratio:.3f}, {ok}); "
        f"CPU {soaked_cpu:.3f} vs {fresh_cpu:.3f} ms/request ({soaked_cpu / fresh_cpu:.3f}); "
        f"{len(soaked):,} and {len(fresh):,} requests"
    )
    if args.json:
        numbers = json.loads(Path(args.json).read_text())
        numbers["soaked_against_fresh"] = {
            "p99_soaked_ms": float(np.percentile(soaked, 99)),
            "p99_fresh_ms": float(np.percentile(fresh, 99)),
            "cpu_ms_per_request_soaked": soaked_cpu,
            "cpu_ms_per_request_fresh": fresh_cpu,
        }
        Path(args.json).write_text(json.dumps(numbers, indent=1))


@contextlib.contextmanager
def _ended_with(proc: subprocess.Popen[str]) -> Iterator[None]:
    """Kill ``proc`` if the block fails, so that no load generator outlives its soak."""
    try:
        yield
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _cpu_by_tenth(cpu: list[tuple[int, float, float]], n: int) -> list[tuple[float, float]]:
    """Per tenth of the requests: the server's CPU ms per request and the median machine probe."""
    out = []
    for d in range(10):
        lo, hi = d * n // 10, (d + 1) * n // 10
        inside = [c for c in cpu if lo <= c[0] <= hi]
        if len(inside) < 2 or inside[-1][0] == inside[0][0]:
            out.append((float("nan"), float("nan")))
            continue
        per_request = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]) * 1000
        out.append((per_request, float(np.median([c[2] for c in inside]))))
    return out


def _print_soak(
    args: argparse.Namespace,
    load: Load,
    samples: list[tuple[float, int, dict[int, int]]],
    log_samples: list[tuple[int, int, int]],
    gc_lines: list[str],
    cpu: list[tuple[int, float, float]] | None = None,
) -> None:
    n = load.n
    cpu_per_tenth = _cpu_by_tenth(cpu or [], n)
    tenth = n // 10
    lat = load.latency * 1000
    done_at = load.start + load.latency
    first, last = lat[:tenth], lat[n - tenth :]
    p99_first, p99_last = np.percentile(first, 99), np.percentile(last, 99)
    console.print()
    console.print(
        f"[bold]Soak: {n:,} single-row requests to /predict/churn at concurrency {args.concurrency}, "
        f"{args.workers} worker(s), prediction log on, {load.seconds:,.0f} s, {load.errors} failed[/]"
    )
    console.print("latency (ms) and throughput by tenth of the requests, in completion order:")
    table = Table()
    for col in ("tenth", "req/s", "p50", "p99", "p99.9", "max", "server CPU\nms/request", "machine probe\nµs"):
        table.add_column(col, justify="right")
    for d in range(10):
        part = slice(d * tenth, (d + 1) * tenth if d < 9 else n)
        span = done_at[part][-1] - done_at[part][0]
        table.add_row(
            f"{d + 1}",
            f"{(len(lat[part]) - 1) / span:,.0f}",
            *(f"{np.percentile(lat[part], q):.2f}" for q in (50, 99, 99.9)),
            f"{lat[part].max():.1f}",
            *(f"{v:.3f}" if i == 0 else f"{v:,.0f}" for i, v in enumerate(cpu_per_tenth[d])),
        )
    console.print(table)
    ratio = p99_last / p99_first
    ok = "[green]met[/]" if ratio <= 1.10 else "[red]not met[/]"
    faster = " (the last tenth was over 10% faster: noise or a slow start, not a regression)" if ratio < 0.9 else ""
    console.print(
        f"p50 first 10% {np.percentile(first, 50):.2f} ms, last 10% {np.percentile(last, 50):.2f} ms; "
        f"p99 first 10% {p99_first:.2f} ms, last 10% {p99_last:.2f} ms: last/first = {ratio:.3f} "
        f"(target <= 1.10): {ok}{faster}"
    )
    (cpu_first, probe_first), (cpu_last, probe_last) = cpu_per_tenth[0], cpu_per_tenth[-1]
    if np.isfinite([cpu_first, cpu_last, probe_first, probe_last]).all():
        console.print(
            f"server CPU per request, last/first tenth: {cpu_last / cpu_first:.3f}; the machine probe (the same code "
            f"every second), last/first: {probe_last / probe_first:.3f}. A server that slows by itself shows in the "
            "first ratio alone; a machine that slows shows in both."
        )

    def rss_at(requests: int) -> tuple[float, dict[int, int]]:
        for _, done, rss in samples:
            if done >= requests and rss:
                return sum(rss.values()) / 2**20, rss
        return float("nan"), {}

    rss10, by_pid10 = rss_at(n // 10)
    rss100, by_pid100 = rss_at(n)
    growth = (rss100 / rss10 - 1) * 100
    ok = "[green]met[/]" if growth < 5 else "[red]not met[/]"
    console.print(
        f"server RSS (all its processes): {rss10:,.1f} MB at 10% of the requests, {rss100:,.1f} MB at 100%: "
        f"{growth:+.2f}% (target < 5%): {ok}"
    )
    if len(by_pid100) > 1:
        parts = ", ".join(
            f"pid {pid}: {by_pid10.get(pid, 0) / 2**20:,.1f} -> {rss / 2**20:,.1f} MB" for pid, rss in by_pid100.items()
        )
        console.print(f"  by process: {parts}")
    picks = np.linspace(0, len(samples) - 1, min(len(samples), 11)).round().astype(int)
    rss_curve = [f"{sum(samples[i][2].values()) / 2**20:,.0f}" for i in picks if samples[i][2]]
    console.print(f"  RSS over the run (MB, 11 samples): {' '.join(rss_curve)}")
    if log_samples:
        first_log, last_log = log_samples[0], log_samples[-1]
        console.print(
            f"prediction log on disk: {first_log[1] / 2**20:,.1f} -> {last_log[1] / 2**20:,.1f} MB "
            f"({last_log[2]:,} files at the end); files, not memory: RSS grew {growth:+.2f}% over the same time"
        )
    console.print("server GC pauses (from its /metrics" + (", one worker's view" if args.workers > 1 else "") + "):")
    for line in gc_lines or ["no modelyard_gc_pause_seconds metric found"]:
        console.print(f"  {line}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "requests": n,
                    "seconds": load.seconds,
                    "errors": load.errors,
                    "p50_first_ms": float(np.percentile(first, 50)),
                    "p50_last_ms": float(np.percentile(last, 50)),
                    "p99_first_ms": float(p99_first),
                    "p99_last_ms": float(p99_last),
                    "rss_10_mb": rss10,
                    "rss_100_mb": rss100,
                    "rss_growth_pct": growth,
                    "log_bytes": log_samples[-1][1] if log_samples else None,
                    "gc": gc_lines,
                },
                indent=1,
            )
        )


# -- freeze: early vs late with gc.freeze on and off, and a hot swap ----------------------------------


def _window(load: Load, first: bool, size: int = 1000) -> tuple[float, float, float]:
    done_at = load.start + load.latency
    part = slice(0, size) if first else slice(load.n - size, load.n)
    lat = load.latency[part] * 1000
    span = done_at[part][-1] - done_at[part][0]
    return (len(lat) - 1) / span, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


def freeze(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fx = _fixture(tmp)
        request = _http_request("/predict/churn", _plain_body(fx.records[:1]))
        _, model_p99, _, _ = _in_process_predict_ms(fx.yard, fx.records[0])
        rows = []
        for on in (True, False):
            spec = _modelyard_spec("modelyard", "modelyard", fx.yard, tmp / "predictions", gc_freeze=on)
            with (
                running(spec, 1, tmp / "server.log") as (_, port),
                console.status(f"gc.freeze {'on' if on else 'off'}"),
            ):
                drive(port, request, tmp, concurrency=4, warmup=0.0, seconds=2)
                c1 = drive(port, request, tmp, concurrency=1, warmup=0.0, seconds=3)
                run = drive(port, request, tmp, concurrency=args.concurrency, warmup=0.0, seconds=args.seconds)
            rows.append((on, run, c1))

        spec = _modelyard_spec("modelyard", "modelyard", fx.yard, tmp / "predictions", gc_freeze=True, poll_seconds=1.0)
        with running(spec, 1, tmp / "server.log") as (_, port), console.status("hot swap under load"):
            from modelyard import open_yard

            argv, out = _loadgen_argv(
                port, request, tmp, concurrency=args.concurrency, warmup=0.0, seconds=8, parse_version=True
            )
            gen = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
            time.sleep(2)
            with open_yard(fx.yard) as y:
                before = y.model("churn", "production").version
                y.registry.rollback("churn", reason="bench: hot swap under load")
            swapped_at = time.perf_counter()
            stdout, _ = gen.communicate()
            swap = _read_load(stdout.strip().splitlines()[-1], out)

    console.print()
    console.print(
        f"modelyard serve: 1 worker, {os.cpu_count()} cores, /predict/churn single-row JSON, "
        f"concurrency {args.concurrency}, HistGradientBoosting (demo challenger)"
    )
    console.print(f"in-process model.score p99 on one row: {model_p99:.2f} ms")
    table = Table()
    for col in (
        "gc.freeze",
        "requests N",
        "req/s @1k",
        "p50 @1k",
        "p99 @1k",
        "req/s @N",
        "p50 @N",
        "p99 @N",
        "failed",
        "c=1 p50",
        "c=1 p99",
    ):
        table.add_column(col, justify="right")
    for on, run, c1 in rows:
        early, late = _window(run, True), _window(run, False)
        table.add_row(
            "on" if on else "off",
            f"{run.n:,}",
            f"{early[0]:,.0f}",
            f"{early[1]:.2f}",
            f"{early[2]:.2f}",
            f"{late[0]:,.0f}",
            f"{late[1]:.2f}",
            f"{late[2]:.2f}",
            str(run.errors),
            f"{c1.pct(50):.2f}",
            f"{c1.pct(99):.2f}",
        )
    console.print(table)
    console.print("(latencies in ms; @1k = requests 1-1,000, @N = the last 1,000 of N)")
    done_at = swap.t_measure + swap.start + swap.latency
    versions = swap.version if swap.version is not None else np.full(swap.n, -1)
    new = (versions != before) & (swap.version != -1) & (done_at > swapped_at)
    took = f"{done_at[new].min() - swapped_at:.2f} s" if new.any() else "never"
    console.print(
        f"hot swap under load (rollback at t=2 s of 8 s): {swap.n:,} requests, {swap.errors} failed, "
        f"new version answering after {took}"
    )


# -- latency: the c1 target, measured interleaved -------------------------------------------------


def latency(args: argparse.Namespace) -> None:
    """The c1 target with the machine's drift taken out: rounds that alternate one-row requests at
    concurrency 1 to the server (1 process) with the same model timed in this process, the server
    idle. Pooled percentiles, and each round's own gap."""
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fx = _fixture(tmp)
        timer = InProcess(fx.yard, fx.records[0])
        request = _http_request("/predict/churn", _plain_body(fx.records[:1]))
        spec = _modelyard_spec("modelyard", "modelyard", fx.yard, tmp / "predictions")
        http: list[np.ndarray] = []
        alone: list[np.ndarray] = []
        featured: list[np.ndarray] = []
        with running(spec, 1, tmp / "server.log") as (_, port):
            drive(port, request, tmp, concurrency=1, warmup=0.0, seconds=args.warmup)
            for r in range(args.rounds):
                with console.status(f"round {r + 1}/{args.rounds}: HTTP, then in-process"):
                    load = drive(port, request, tmp, concurrency=1, warmup=0.2, seconds=args.seconds)
                    http.append(load.latency[load.status == 200] * 1000)
                    alone.append(timer.times(features=False, seconds=args.seconds / 2) * 1000)
                    featured.append(timer.times(features=True, seconds=args.seconds / 2) * 1000)
                console.print(
                    f"  round {r + 1}: HTTP c1 p50 {np.percentile(http[-1], 50):.2f} p99 "
                    f"{np.percentile(http[-1], 99):.2f} ms ({len(http[-1])} requests, {load.errors} errors); "
                    f"in-process model.score p99 {np.percentile(alone[-1], 99):.2f}, with the feature code "
                    f"{np.percentile(featured[-1], 99):.2f} ms"
                )
    _print_latency(args, http, alone, featured)


def _print_latency(
    args: argparse.Namespace, http: list[np.ndarray], alone: list[np.ndarray], featured: list[np.ndarray]
) -> None:
    table = Table(
        title=f"One row at concurrency 1: {args.rounds} interleaved rounds of {args.seconds:g} s, 1 server process",
        caption="ms; the gaps are the server's p99 minus the in-process p99",
    )
    for column in ("", "calls", "p50", "p99", "p99 gap", "rounds' p99 gaps: median (min to max)"):
        table.add_column(column, justify="right" if column else "left")
    pooled_http = np.concatenate(http)
    http_p99 = [np.percentile(h, 99) for h in http]
    table.add_row(
        "modelyard over HTTP",
        f"{len(pooled_http):,}",
        f"{np.percentile(pooled_http, 50):.2f}",
        f"{np.percentile(pooled_http, 99):.2f}",
        "",
        "",
    )
    gaps = {}
    for label, parts in (("model.score in-process", alone), ("feature code + model.score", featured)):
        pooled = np.concatenate(parts)
        gap = float(np.percentile(pooled_http, 99) - np.percentile(pooled, 99))
        per_round = [h - np.percentile(p, 99) for h, p in zip(http_p99, parts, strict=True)]
        gaps[label] = gap
        table.add_row(
            label,
            f"{len(pooled):,}",
            f"{np.percentile(pooled, 50):.2f}",
            f"{np.percentile(pooled, 99):.2f}",
            f"{gap:+.2f}",
            f"{np.median(per_round):+.2f} ({min(per_round):+.2f} to {max(per_round):+.2f})",
        )
    console.print(table)
    for label, gap in gaps.items():
        verdict = "[green]met[/]" if gap <= 1.0 else "[red]not met[/]"
        console.print(f"c1 p99 within 1 ms of {label}: {gap:+.2f} ms, {verdict}")


# -- shadow: what a listening version costs the one that answers ---------------------------------


def _build_shadow_yard(yard: Path, folder: Path) -> int:
    """A copy of the yard with the production pipeline registered again and put on shadow (a shadow
    as costly as production, as a challenger of the same kind would be); returns its version. The
    copy's ``random_state`` differs (fit alone reads it) so that the registry takes it as new."""
    from modelyard import open_yard

    shutil.copytree(yard, folder)
    with open_yard(folder) as y:
        twin = copy.deepcopy(y.load("churn", "production").raw)
        twin.steps[-1][1].set_params(random_state=12345)  # read only by fit: the registry sees a new model
        mv = y.register("churn", twin, description="bench: production's pipeline, listening in")
        y.registry.transition("churn", mv.version, "shadow", reason="bench: a shadow as costly as production")
        return mv.version


def _metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (Prometheus text)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def shadow(args: argparse.Namespace) -> None:
    """Production's latency and throughput with no shadow, with a shadow batched as it is by default
    (``shadow_max_wait_ms``), and with a shadow scored one call per request
    (``MODELYARD_SERVE_SHADOW_MAX_WAIT_MS=0``): three servers up at once, visited in turn each round."""
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fx = _fixture(tmp)
        shadow_yard = tmp / "yard-shadow"
        version = _build_shadow_yard(fx.yard, shadow_yard)
        console.print(f"shadow: v{version}, the production pipeline registered again")
        specs = {
            "no shadow": _modelyard_spec("plain", "no shadow", fx.yard, tmp / "log-plain"),
            "shadow, batched (default)": _modelyard_spec("batched", "batched", shadow_yard, tmp / "log-batched"),
            "shadow, a call per request": _modelyard_spec(
                "each", "each", shadow_yard, tmp / "log-each", shadow_max_wait_ms=0
            ),
        }
        request = _http_request("/predict/churn", _plain_body(fx.records[:1]))
        loads: dict[tuple[str, int], list[Load]] = {}
        metrics: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            ports = {
                name: stack.enter_context(running(spec, 1, tmp / f"{spec.name}.log"))[1] for name, spec in specs.items()
            }
            for port in ports.values():
                drive(port, request, tmp, concurrency=16, warmup=0.0, seconds=args.warmup)
            for r in range(args.rounds):
                for name, port in ports.items():
                    for concurrency in (1, 16):
                        with console.status(f"round {r + 1}/{args.rounds}: {name}, c{concurrency}"):
                            load = drive(port, request, tmp, concurrency=concurrency, warmup=0.5, seconds=args.seconds)
                        loads.setdefault((name, concurrency), []).append(load)
            time.sleep(0.5)  # the last shadow batches
            metrics = {name: _get(port, "/metrics") for name, port in ports.items()}
        _print_shadow(args, loads, metrics, version)


def _print_shadow(
    args: argparse.Namespace, loads: dict[tuple[str, int], list[Load]], metrics: dict[str, str], version: int
) -> None:
    table = Table(
        title=f"Production's answers with and without a shadow: one row, {args.rounds} rounds of {args.seconds:g} s",
        caption="ms; median of the rounds; 1 server process each; shadow calls: model calls the shadow made "
        "(rows per call)",
    )
    for column in ("", "c1 p50", "c1 p99", "c16 req/s", "c16 p50", "c16 p99", "shadow rows", "shadow calls"):
        table.add_column(column, justify="right" if column else "left")
    for name, text in metrics.items():
        cells = []
        for concurrency in (1, 16):
            runs = loads[(name, concurrency)]
            if concurrency == 16:
                cells.append(f"{np.median([x.rps for x in runs]):,.0f}")
            cells += [f"{np.median([x.pct(50) for x in runs]):.2f}", f"{np.median([x.pct(99) for x in runs]):.2f}"]
        rows = _metric_sum(text, "modelyard_predictions_logged_total", role="shadow")
        calls = _metric_sum(text, "modelyard_batch_size_rows_count", role="shadow")
        answered = _metric_sum(text, "modelyard_predictions_logged_total", role="production")
        shadow_cells = (
            [f"{rows:,.0f} of {answered:,.0f}", f"{calls:,.0f} ({rows / calls:.1f})"] if calls else ["-", "-"]
        )
        table.add_row(name, *cells, *shadow_cells)
    console.print(table)
    console.print(f"[dim]the shadow is v{version}; rows are counted from each server's /metrics[/]")


# -- setup -------------------------------------------------------------------------------------


def setup(args: argparse.Namespace) -> None:
    names = [n for n in args.envs.split(",") if n]
    if args.reinstall:
        for env in baseline_envs.baseline_envs().values():
            if env.name in names and env.path.exists():
                shutil.rmtree(env.path)
    ready = baseline_envs.ensure(names, console, retry_failed=True)
    for name in names:
        env = baseline_envs.baseline_envs()[name]
        if name in ready:
            info = env.marker("ok")
            console.print(
                f"{name}: {env.path} ({', '.join(env.packages)}), installed in {info['install_seconds']} s, "
                f"{info['size_mb']:,.0f} MB"
            )
        else:
            console.print(f"{name}: [red]not installed[/] (see {env.path / 'failed.json'})")
    console.print("[dim]bench/.venvs/ is not part of the project: keep it out of git.[/]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")

    def compare_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seconds", type=float, default=8.0, help="measured seconds per cell (default 8)")
        p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each cell (default 1)")
        p.add_argument("--warmup-server", type=float, default=4.0, help="seconds of load after each start (default 4)")
        p.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated, from {','.join(SERVERS)}")
        p.add_argument("--procs", default="1,2", help="server processes, comma-separated (default 1,2)")
        p.add_argument("--rounds", type=int, default=1, help="visit every server this often; the median counts")
        p.add_argument("--json", help="also write the numbers to this file")

    compare_options(sub.add_parser("compare", help="modelyard against the baselines (the default)"))
    p = sub.add_parser("soak", help="N single-row requests: p99 and RSS early vs late")
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of unrecorded load first (default 5)")
    p.add_argument("--log-settle", type=float, default=3.0, help="seconds to let the log flush at the end")
    p.add_argument("--ab-rounds", type=int, default=3, help="rounds of soaked against fresh (default 3)")
    p.add_argument("--ab-seconds", type=float, default=8.0, help="seconds per side per round (default 8)")
    p.add_argument("--json", help="also write the numbers to this file")
    p = sub.add_parser("freeze", help="early vs late with gc.freeze on/off, and a hot swap under load")
    p.add_argument("--seconds", type=float, default=25.0)
    p.add_argument("--concurrency", type=int, default=16)
    p = sub.add_parser("latency", help="the c1 target: HTTP and in-process rounds, interleaved")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--seconds", type=float, default=4.0, help="seconds of requests per round (default 4)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured requests first (default 3)")
    p = sub.add_parser("shadow", help="production's latency with no shadow, a batched one, and one call per request")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per load (default 4)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load per server first (default 3)")
    p = sub.add_parser("loadgen", help="the load generator's own ceiling against a trivial server")
    p.add_argument("--seconds", type=float, default=5.0)
    p = sub.add_parser("setup", help="install (or repair) the baselines' venvs under bench/.venvs/")
    p.add_argument("--envs", default="web,mlflow,bentoml")
    p.add_argument("--reinstall", action="store_true", help="delete and install again")
    argv = sys.argv[1:]
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["compare", *argv]
    args = parser.parse_args(argv)
    modes = {
        "compare": compare,
        "soak": soak,
        "freeze": freeze,
        "latency": latency,
        "shadow": shadow,
        "loadgen": loadgen,
        "setup": setup,
    }
    modes[args.mode](args)


if __name__ == "__main__":
    main()
