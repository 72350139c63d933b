"""``modelyard check``: a table or JSON, exit 0 / 1 / 2, through Typer's runner."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from modelyard.cli._check import register_commands

runner = CliRunner()


@pytest.fixture
def app(check_yard, monkeypatch: pytest.MonkeyPatch, fast) -> typer.Typer:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MODELYARD_DATABASE_URL", check_yard.store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("MODELYARD_AUTHOR", "cli-tester")
    monkeypatch.chdir(check_yard.settings.root)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register_commands(app)
    return app


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_json_and_exit_0_for_a_passing_version(app, check_yard, make_model) -> None:  # type: ignore[no-untyped-def]
    mv = check_yard.register("churn", make_model(0.5))
    code, out, _ = _run(app, "check", "churn", f"v{mv.version}", "--json", "--soak-seconds", "0")
    data = json.loads(out)
    assert code == 0, [c for c in data["checks"] if c["status"] != "PASS"]
    assert data["passed"] is True and data["version"] == mv.version and data["stored_id"].startswith("chk_")
    assert isinstance(data["measurements"]["latency_p99_ms"], float)


def test_table_and_exit_1_for_a_failing_model(app) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = _run(app, "check", "churn", "check.leaky_models:percent", "--soak-seconds", "0")
    assert code == 1
    assert "FAILED" in out and "output range" in out
    code, out, _ = _run(app, "check", "churn", "check.leaky_models:percent", "--soak-seconds", "0", "--json")
    assert code == 1
    rows = {row["name"]: row for row in json.loads(out)["checks"]}
    assert rows["output range"]["fix"] == "add under outputs/score in the spec: adapter: {scale: 0.01}"


def test_usage_errors_exit_2_with_one_line(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _run(app, "check", "nope", "1")
    assert code == 2 and "error:" in err and "nope" in err
    code, _, err = _run(app, "check", "churn", "check.leaky_models:healthy", "--data", str(tmp_path / "x.parquet"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, _, err = _run(app, "check", "churn", "v9")
    assert code == 2 and "error:" in err
    code, _, _ = _run(app, "check", "churn", "1", "--soak-seconds", "-3")
    assert code == 2


def test_pickle_without_trust_exits_1_with_the_fix(app, tmp_path: Path, baseline_model) -> None:  # type: ignore[no-untyped-def]
    import pickle

    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(baseline_model))
    code, out, _ = _run(app, "check", "churn", str(path), "--json")
    assert code == 1
    row = json.loads(out)["checks"][0]
    assert row["name"] == "load" and row["status"] == "FAIL" and "--trust" in row["fix"]


def _check_process(yard_root: Path, raw_recent, tmp_path: Path, model: str, timeout: int):  # type: ignore[no-untyped-def]
    """``modelyard check`` in a real process (a stuck call holds its main thread): Popen and the command."""
    import os
    import subprocess
    import sys

    (yard_root / "data").mkdir()
    raw_recent.to_parquet(yard_root / "data" / "recent.parquet", index=False)
    tests_dir = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]),
        "MODELYARD_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "modelyard", "--root", str(yard_root), "check", "churn", model]
    options = ["--timeout", str(timeout), "--soak-seconds", "0", "--json"]
    return subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _time_limit_row(process, seconds: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    try:
        out, err = process.communicate(timeout=seconds + 90)
    finally:  # a failed assertion must not leave it running, nor its child
        process.kill()
        process.wait()
    assert process.returncode == 1, err
    data = json.loads(out)
    assert data["passed"] is False and data["complete"] is False
    (row,) = data["checks"]
    assert row["name"] == "time limit" and row["status"] == "FAIL" and row["budget"] == f"{seconds} s"
    assert "--timeout" in row["fix"] and "Traceback" not in err
    return row  # type: ignore[no-any-return]


def test_a_model_call_that_never_returns_fails_the_check_at_the_time_limit(
    yard_root: Path, raw_recent, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    process = _check_process(yard_root, raw_recent, tmp_path, "check.slow_models:hangs", 10)
    row = _time_limit_row(process, 10)
    assert "was stopped in the outputs stage (scoring the rows" in row["message"], row["message"]


def test_at_the_time_limit_the_memory_stage_s_process_and_files_go_too(
    yard_root: Path, raw_recent, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import psutil

    # 30 s: the stages before memory take about 8 s here, and more on a loaded machine
    process = _check_process(yard_root, raw_recent, tmp_path, "check.slow_models:hangs_in_a_fresh_process", 30)
    mark = f"modelyard-check-{process.pid}-"
    row = _time_limit_row(process, 30)
    assert "was stopped in the memory stage" in row["message"], row["message"]
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if any(mark in arg for arg in p.info["cmdline"] or [])]
    assert left == []
    stray = {
        f.name: sorted(c.name for c in f.iterdir())
        for f in Path(tempfile.gettempdir()).iterdir()
        if f.name.startswith(mark)
    }
    assert not stray, (stray, row["message"])


def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _run(app, "check", "churn", "check.leaky_models:healthy", "--timeout", "inf")
    assert code == 2 and "--timeout must be a number of seconds, or 0 for no limit; got inf" in err
