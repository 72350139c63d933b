"""The CLI end to end with Typer's runner: tables for people, JSON for scripts, one line per mistake."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import skops.io
from typer.testing import CliRunner

from modelyard.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(yard_root: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODELYARD_DATABASE_URL", store_url)
    monkeypatch.setenv("MODELYARD_AUTHOR", "cli-tester")
    monkeypatch.chdir(yard_root)
    return yard_root


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _model_file(tmp_path: Path, model: object, name: str = "model.skops") -> Path:
    path = tmp_path / name
    skops.io.dump(model, path)
    return path


def test_register_list_show_promote_rollback_history(cli_env: Path, tmp_path: Path, make_model, churn_frame) -> None:
    x, _ = churn_frame
    x.to_parquet(tmp_path / "train.parquet")
    m1, m2 = (
        _model_file(tmp_path, make_model(1.0), "a.skops"),
        _model_file(tmp_path, make_model(0.5), "b.skops"),
    )

    code, out, err = run(
        "register",
        "churn",
        str(m1),
        "--training-data",
        str(tmp_path / "train.parquet"),
        "--tag",
        "team=retention",
        "--research-item",
        "RI-3",
        "--json",
    )
    assert code == 0, err
    registered = json.loads(out)
    assert (
        registered["version"] == 1
        and registered["stage"] == "candidate"
        and registered["tags"] == {"team": "retention"}
    )
    assert registered["training_data_hash"] and registered["author"] == "cli-tester"

    assert run("register", "churn", str(m2))[0] == 0
    code, out, _ = run("promote", "churn", "1", "--reason", "first")
    assert code == 0 and "candidate → production" in out
    code, _, err = run("promote", "churn", "2", "--reason", "better")
    assert code == 2 and "has no passing evaluation against the production version v1" in err
    code, out, _ = run("promote", "churn", "2", "--reason", "better", "--force", "--why", "hotfix")
    assert code == 0 and "production → archived" in out

    code, out, _ = run("models", "list", "churn", "--json")
    assert {v["version"]: v["stage"] for v in json.loads(out)} == {1: "archived", 2: "production"}
    code, out, _ = run("models", "list")
    assert code == 0 and "production" in out and "churn" in out
    code, out, _ = run("models", "show", "churn", "production", "--json")
    shown = json.loads(out)
    assert shown["version"] == 2 and [h["to_stage"] for h in shown["history"]] == ["candidate", "production"]
    code, out, _ = run("models", "show", "churn", "1")
    assert code == 0 and "RI-3" in out and "retention" in out

    code, out, _ = run("rollback", "churn", "--reason", "v2 misbehaves")
    assert code == 0 and "rollback: v2 misbehaves" in out
    code, out, _ = run("history", "churn", "--json")
    assert [(h["version"], h["to_stage"]) for h in json.loads(out)][-2:] == [
        (2, "archived"),
        (1, "production"),
    ]

    code, out, _ = run("usecase", "list", "--json")
    assert json.loads(out)[0] | {"spec_path": None} == {
        "name": "churn",
        "task": "binary_classification",
        "description": json.loads(out)[0]["description"],
        "spec_path": None,
        "versions": 2,
        "production": 1,
        "canary": None,
        "shadows": [],
    }


def test_stage_moves_and_their_errors(cli_env: Path, tmp_path: Path, make_model) -> None:
    assert run("register", "churn", str(_model_file(tmp_path, make_model(1.0))))[0] == 0
    code, out, _ = run("stage", "churn", "1", "shadow", "--reason", "watch live traffic")
    assert code == 0 and "candidate → shadow" in out
    code, out, err = run("stage", "churn", "1", "retired", "--reason", "leak")
    assert code == 0
    code, out, err = run("promote", "churn", "1", "--reason", "again")
    assert code == 2
    assert err.strip() == (
        "error: churn/v1 is retired, which is final; a retrained or changed model can come back as a new version "
        "(the same artifact cannot be registered twice)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["promote", "churn", "1"], "needs a reason"),
        (["models", "show", "nosuch", "1"], "No use case 'nosuch' in the registry"),
        (["models", "list", "nosuch"], "No use case 'nosuch' in this project (known: churn)"),
        (["models", "list", "nosuch", "--json"], "No use case 'nosuch' in this project (known: churn)"),
        (["register", "churn", "missing.skops"], "Model file missing.skops does not exist"),
        (["register", "nosuch", "modelyard.demo.features:churn_features"], "nosuch"),
        (["register", "churn", "model.bin"], "has suffix '.bin', which modelyard cannot read"),
        (["register", "churn", "model.pkl"], "loading a pickle runs code from the file; pass --trust"),
        (["register", "churn", "model.skops", "--flavor", "tensorflow"], "tensorflow"),
        (["register", "churn", "model.skops", "--param", "oops"], "--param 'oops' is not KEY=VALUE"),
        (["stage", "churn", "1", "live", "--reason", "x"], "'live' is not a stage"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_code_2(cli_env: Path, make_model, args: list[str], message: str) -> None:
    (cli_env / "model.bin").write_bytes(b"?")
    (cli_env / "model.pkl").write_bytes(b"?")
    skops.io.dump(make_model(1.0), cli_env / "model.skops")
    run("register", "churn", "model.skops")
    code, _, err = run(*args)
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_tampered_artifact_is_one_line_too(cli_env: Path, tmp_path: Path, make_model) -> None:
    _, out, _ = run("register", "churn", str(_model_file(tmp_path, make_model(1.0))), "--json")
    Path(json.loads(out)["artifact_uri"]).write_bytes(b"tampered")
    from modelyard import open_yard

    with open_yard(cli_env) as yard, pytest.raises(Exception, match="tampered"):
        yard.load("churn", 1)


def test_an_unreachable_database_is_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_DATABASE_URL", "postgresql://me@127.0.0.1:1/nowhere")
    code, _, err = run("models", "list")
    assert code == 2
    assert err.startswith("error: Cannot open the registry database postgresql://me@127.0.0.1:1/nowhere")
    assert len(err.strip().splitlines()) == 1


def test_usecase_validate_good_and_bad(cli_env: Path) -> None:
    code, out, _ = run("usecase", "validate", "usecases/churn.yaml")
    assert code == 0 and "valid" in out
    bad = cli_env / "usecases" / "broken.yaml"
    bad.write_text("name: broken\ntask: binary_classification\ninputs:\n  - name: x\n    type: flaot\n")
    code, out, err = run("usecase", "validate", str(bad))
    assert code == 2
    assert f"{bad}:5" in err and "flaot" in err and "Traceback" not in err
    code, out, _ = run("usecase", "validate", str(bad), "--json")
    issues = {i["key"]: i for i in json.loads(out)[str(bad)]}
    assert code == 2 and issues["inputs[0].type"]["line"] == 5 and issues["inputs[0].type"]["value"] == "flaot"
    assert {"costs", "data"} <= set(issues)  # every problem at once, not just the first


def test_show_names_the_artifact_where_the_yard_is_now(
    yard_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_model
) -> None:
    """A yard copied elsewhere (a new clone, a restored backup) loads its artifacts from there: show says so."""
    monkeypatch.delenv("MODELYARD_DATABASE_URL", raising=False)  # the registry lives in the yard folder
    monkeypatch.chdir(yard_root)
    code, _, err = run("register", "churn", str(_model_file(tmp_path, make_model(1.0))))
    assert code == 0, err
    moved = tmp_path / "moved"
    shutil.copytree(yard_root, moved)
    monkeypatch.chdir(moved)
    code, out, err = run("models", "show", "churn", "1")
    assert code == 0, err
    unfolded = "".join(out.split())  # rich may fold a long path over two lines
    assert f"{moved}{os.sep}.modelyard" in unfolded and str(yard_root) not in unfolded


def test_usecase_show_and_schema(cli_env: Path, tmp_path: Path) -> None:
    code, out, _ = run("usecase", "show", "churn", "--json")
    assert code == 0 and json.loads(out)["name"] == "churn"
    code, out, _ = run("usecase", "schema")
    assert code == 0 and "properties" in json.loads(out)
    code, _, _ = run("usecase", "schema", "--out", str(tmp_path / "s.json"))
    assert code == 0 and json.loads((tmp_path / "s.json").read_text())["title"]


def test_a_function_registers_by_import_path(cli_env: Path) -> None:
    code, out, err = run("register", "churn", "support_code:tenure_score", "--json")
    assert code == 0, err
    assert json.loads(out)["flavor"] == "python_function"


def test_snapshot_options_that_would_be_ignored_are_refused(cli_env: Path) -> None:
    code, _, err = run("snapshot", "list", "--from", "2024-01-01")
    assert code == 2 and "--from/--to choose what a new snapshot holds; 'snapshot list' lists them all" in err
    code, _, err = run("snapshot", "list", "--use-case", "nosuch")
    assert code == 2 and "nosuch" in err and "No snapshots yet" not in err
    code, _, err = run("snapshot", "churn", "--use-case", "churn")
    assert code == 2 and "--use-case filters 'snapshot list'" in err
    code, _, err = run("score", "churn", "1", "--data", "x", "--out", "o.parquet", "--chunk-rows", "0")
    assert code == 2 and "--chunk-rows" in err


def test_error_text_in_square_brackets_is_printed_as_written(cli_env: Path) -> None:
    code, _, err = run("snapshot", "churn[ms, tz=UTC]")
    assert code == 2 and "'churn[ms, tz=UTC]'" in err, err


def test_sigterm_unwinds_the_command_so_its_cleanup_runs() -> None:
    import subprocess
    import sys

    script = (  # SIGTERM while feature code runs: not reported as the feature code's failure
        "import os, signal, time\n"
        "import pandas as pd\n"
        "from modelyard.cli import _app\n"
        "from modelyard.data import FeatureCode\n"
        "def features(raw):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(10)\n"
        "    return raw\n"
        "def command(**_):\n"
        "    try:\n"
        "        FeatureCode('m:features', features, '0').apply(pd.DataFrame({'x': [1, 2]}))\n"
        "    finally:\n"
        "        print('cleaned up', flush=True)\n"
        "_app.app = command\n"
        "_app.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout == "cleaned up\n" and done.returncode == 128 + 15, done.stderr
    assert "failed" not in done.stderr and "Traceback" not in done.stderr


MARKUP = "[/] [bold]x[/bold] [forced: w]"


def test_stored_text_that_looks_like_markup_is_printed_as_written(cli_env: Path, tmp_path: Path, make_model) -> None:
    spec = cli_env / "usecases" / "churn.yaml"
    text = re.sub(r"(?m)^description: .*$", f"description: {json.dumps(MARKUP)}", spec.read_text(encoding="utf-8"))
    spec.write_text(text, encoding="utf-8")
    model = _model_file(tmp_path, make_model(1.0))
    assert run("register", "churn", str(model), "--description", MARKUP)[0] == 0
    code, out, err = run("promote", "churn", "1", "--reason", MARKUP, "--force", "--why", MARKUP)
    assert code == 0 and MARKUP in out, err
    for args in (["history", "churn"], ["models", "show", "churn", "1"], ["usecase", "list"]):
        code, out, err = run(*args)
        assert code == 0 and MARKUP in out, (args, out, err)
    code, out, _ = run("models", "show", "churn", "1")
    assert "[forced without a passing evaluation:" in out


def test_json_failures_print_the_error_shape_on_stdout(cli_env: Path) -> None:
    code, out, err = run("models", "show", "churn", "99", "--json")
    assert code == 2 and err.startswith("error: ")
    assert json.loads(out)["error"]["type"] == "NotFoundError"
    code, out, _ = run("models", "show", "churn", "99")
    assert code == 2 and out == ""


@pytest.mark.parametrize("version", ["²", "١"])
def test_versions_take_only_the_digits_0_to_9(cli_env: Path, version: str) -> None:
    for args in (
        ["models", "show", "churn", version],
        ["evaluate", "churn", version],
        ["evaluate", "churn", "1", "--against", version],
    ):
        code, _, err = run(*args)
        assert code == 2 and "is not a version; write the number with the digits 0-9" in err, (args, err)


def test_evaluate_refuses_an_output_path_before_the_work(cli_env: Path, tmp_path: Path, churn_frame) -> None:
    x, _ = churn_frame
    data = tmp_path / "rows.parquet"
    x.to_parquet(data)
    before = data.read_bytes()
    cases = {
        str(data): "is one of this command's inputs",
        str(tmp_path): "is a folder; give a file path, e.g. --markdown",
        str(data / "summary.md"): "which is a file, not a folder",
        str(cli_env / "usecases" / "churn.yaml"): "is one of this command's inputs",
        str(cli_env / ".modelyard" / "summary.md"): "the folder modelyard manages",
    }
    for target, message in cases.items():
        code, out, err = run("evaluate", "churn", "1", "--data", str(data), "--markdown", target)
        assert code == 2 and message in err and "Traceback" not in out + err, (target, err)
    assert data.read_bytes() == before


def test_other_commands_refuse_folders_and_paths_under_files(cli_env: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a.txt"
    a_file.write_text("keep", encoding="utf-8")
    for args, message in [
        (["usecase", "schema", "--out", str(tmp_path)], "--out"),
        (["board", "show", "--html", str(tmp_path)], "--html"),
        (["board", "report", "--out", str(a_file / "r")], "which is a file, not a folder"),
        (["demo", str(a_file)], "is an existing file, not a folder"),
    ]:
        code, _, err = run(*args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert a_file.read_text(encoding="utf-8") == "keep"


def test_a_folder_without_a_project_is_refused_and_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODELYARD_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("--root", str(tmp_path / "typo"), "models", "list")
    assert code == 2 and "--root" in err and "does not exist" in err and "typo" in err
    code, _, err = run("models", "list")
    assert code == 2 and "No modelyard project in" in err and "--root PROJECT" in err
    code, _, err = run("history", "churn")
    assert code == 2 and "No modelyard project in" in err
    assert list(tmp_path.iterdir()) == []  # nothing created: not the typo, not a .modelyard here

    code, _, err = run("board", "add", "Try uplift modelling", "--use-case", "churn")
    assert code == 0, err  # putting the first item on the board starts a yard
    assert (tmp_path / ".modelyard" / "registry.db").is_file()
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    code, out, err = run("board", "show", "--json")
    assert code == 0 and "Try uplift modelling" in out, err


def test_a_function_in_the_project_folder_registers_and_checks_by_its_import_path(
    cli_env: Path, churn_frame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The console script's sys.path holds the venv's bin folder, not the current one: the project
    # folder is added by modelyard itself, as the spec's feature code also needs.
    (cli_env / "house_rules.py").write_text(
        "def churn_score(frame):\n    return (frame['tenure'] < 12).to_numpy() * 0.6 + 0.2\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(cli_env / "unrelated"))  # the test's own path, restored afterwards
    code, out, err = run("register", "churn", "house_rules:churn_score", "--json")
    assert code == 0, err
    assert json.loads(out)["flavor"] == "python_function"
    code, _, err = run("register", "churn", "house_rules:no_such_function")
    assert code == 2 and "Cannot import 'house_rules:no_such_function'" in err and "in the project folder" in err


def test_a_narrow_terminal_keeps_stages_and_dates_whole(cli_env: Path, tmp_path: Path, make_model) -> None:
    """At 60-80 columns the tables used to break 'produc / tion' and cut dates to '2026-1…': now the
    least needed columns go first, and the audit trail drops its borders."""
    for c in (1.0, 0.5):
        assert run("register", "churn", str(_model_file(tmp_path, make_model(c), f"m{c}.skops")))[0] == 0
    assert run("promote", "churn", "1", "--reason", "the first production model of churn")[0] == 0
    for width in ("60", "80"):
        listed = runner.invoke(app, ["models", "list"], env={"COLUMNS": width}).stdout
        assert " production " in listed and " candidate " in listed and "sha256" not in listed
        assert all(len(line) <= int(width) for line in listed.splitlines())
        history = runner.invoke(app, ["history", "churn"], env={"COLUMNS": width}).stdout
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}  v1 candidate → production", history), history
        assert all(len(line) <= int(width) for line in history.splitlines())
    wide = run("models", "list")[1]
    assert "sha256" in wide and "created (UTC)" in wide
