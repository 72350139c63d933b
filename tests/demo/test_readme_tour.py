"""The README's five-minute tour, run as written, in order, in a copy of a fresh demo yard.

Every command of the tour's ```bash blocks runs as a subprocess with .venv's ``modelyard`` and
``python`` first on PATH (what ``source ../.venv/bin/activate`` gives) and must exit 0, or the code
its comment names ("refused (exit 2)"). The notebook's ```python block runs too. A few lines cannot
run here or would make the test too slow; SKIPPED and SUBSTITUTED say which and why.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelyard import Stage
from modelyard.board import Board
from modelyard.demo import run_demo

README = Path(__file__).resolve().parents[2] / "README.md"
TOUR = "## A five-minute tour"
VENV_BIN = Path(sys.executable).parent

SKIPPED: dict[str, str] = {
    "bash scripts/demo": "the fixture builds the yard with run_demo, which scripts/demo's 'modelyard demo' calls",
    "cd ": "every command runs in the copy of the demo yard",
    "source ": "PATH starts with .venv's bin folder, as activating it does",
    "pip install": "it would reinstall modelyard into the .venv the test suite runs from; that .venv has every extra",
    "modelyard serve": "no server on a fixed port in a test (tests/serve covers serving)",
    "until curl": "waits for the server that is not started",
    "curl ": "talks to the server that is not started",
    "modelyard feasibility": "fits learning curves of quick baselines (~12 s); tests/board/test_feasibility.py runs it",
}
"""Commands starting with these are not run, for the reason given."""

SUBSTITUTED: list[tuple[str, str, str]] = [
    (
        r"--soak-seconds 30\b",
        "--soak-seconds 0",
        "skips the soak's 30 s (tests/check covers the soak); the rest of the check runs",
    ),
    (
        r"--out (\S+)/ --engine spark\b",
        r"--out \1/part-00000.parquet",
        "Spark: a JVM start costs ~30 s per command; the local engine writes the same scores as one "
        "part file in the same folder, which the evaluation reads the same way (tests/data and "
        "tests/evaluate cover the Spark engine)",
    ),
]
"""Pattern, replacement, why: changes made to a command before it runs."""

ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
EXIT_CODE = re.compile(r"\(exit (\d+)\)")


@dataclass(frozen=True)
class Step:
    language: str  # bash or python
    text: str  # the command (bash) or the whole block (python), as the README has it
    comment: str  # the command's trailing comment, if any


def tour_section(readme: str) -> str:
    start = readme.index(TOUR)
    end = readme.find("\n## ", start + len(TOUR))
    return readme[start : end if end != -1 else len(readme)]


def _comment(command: str) -> str:
    """The text after the first '#' that starts a word outside quotes (bash's comment rule)."""
    quote, escaped = "", False
    for i, char in enumerate(command):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1].isspace()):
            return command[i + 1 :].strip()
    return ""


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def tour_steps(readme: str) -> list[Step]:
    """The tour's commands (```bash blocks, one step per command, a multi-line one joined) and
    ```python blocks, in the README's order."""
    steps: list[Step] = []
    for language, body in re.findall(r"^```(bash|python)\n(.*?)^```", tour_section(readme), re.M | re.S):
        if language == "python":
            steps.append(Step("python", body, ""))
            continue
        pending = ""
        for line in body.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue  # a blank line, or a comment line (the shape of an answer)
            pending = f"{pending}\n{line}" if pending else line
            if _complete(pending):
                steps.append(Step("bash", pending, _comment(pending)))
                pending = ""
        assert not pending, f"an unfinished command at the end of a bash block: {pending!r}"
    return steps


def skip_reason(step: Step) -> str | None:
    for prefix, reason in SKIPPED.items():
        if step.language == "bash" and step.text.startswith(prefix):
            return reason
    return None


def as_run(command: str) -> str:
    for pattern, replacement, _why in SUBSTITUTED:
        command = re.sub(pattern, replacement, command)
    return command


def expected_exit(step: Step) -> int:
    found = EXIT_CODE.search(step.comment)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh demo yard, built once for the module (as tests/demo/test_demo.py builds it)."""
    from rich.console import Console

    folder = tmp_path_factory.mktemp("readme-demo") / "demo-yard"
    run_demo(folder, console=Console(file=io.StringIO(), width=120)).close()
    return folder


def test_the_tour_is_read_in_order_with_its_skips_and_substitutions_named() -> None:
    steps = tour_steps(README.read_text(encoding="utf-8"))
    bash = [s.text for s in steps if s.language == "bash"]
    assert bash[:3] == ["bash scripts/demo", "cd demo-yard", "source ../.venv/bin/activate"]
    assert sum(s.language == "python" for s in steps) == 1  # the notebook
    skipped = [s for s in steps if skip_reason(s)]
    assert len(skipped) <= 10, [s.text for s in skipped]  # the skip list stays small
    for pattern, _replacement, _why in SUBSTITUTED:  # a substitution the README no longer needs goes
        assert any(re.search(pattern, s.text) for s in steps), f"no command of the tour matches {pattern!r}"
    refused = [s.text for s in steps if expected_exit(s) == 2]
    assert refused and refused[0].startswith("modelyard promote churn 2 ")


@pytest.mark.slow
def test_every_tour_command_exits_as_the_readme_says(demo_folder: Path, tmp_path: Path) -> None:
    yard = tmp_path / "demo-yard"
    shutil.copytree(demo_folder, yard)  # the registry is a SQLite file in .modelyard/: the copy is its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(VENV_BIN.parent), COLUMNS="120")
    env.pop("PYTHONPATH", None)

    ran: list[str] = []
    took: list[tuple[float, str]] = []
    started = time.monotonic()
    for step in tour_steps(README.read_text(encoding="utf-8")):
        if skip_reason(step):
            continue
        assigned = None
        if step.language == "python":
            argv, shown = [str(VENV_BIN / "python"), "-c", step.text], "the notebook block"
        else:
            command = as_run(step.text)
            assigned = ASSIGNMENT.match(command)
            if assigned:  # keep the variable for the commands after it, as one shell would
                command = f'{command} && printf %s "${assigned.group(1)}"'
            argv, shown = ["bash", "-c", command], command
        began = time.monotonic()
        proc = subprocess.run(argv, cwd=yard, env=env, capture_output=True, text=True, timeout=300)
        took.append((time.monotonic() - began, shown.splitlines()[0][:70]))
        want = expected_exit(step)
        assert proc.returncode == want, (
            f"{shown!r} exited {proc.returncode}, the README says {want}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
        )
        if assigned:
            assert proc.stdout.strip(), f"{step.text!r} set {assigned.group(1)} to nothing"
            env[assigned.group(1)] = proc.stdout.strip()
        ran.append(shown)
    assert len(ran) >= 25, ran
    slowest = ", ".join(f"{what!r} {seconds:.0f} s" for seconds, what in sorted(took, reverse=True)[:5])
    print(f"ran {len(ran)} tour steps in {time.monotonic() - started:.0f} s; slowest: {slowest}")

    # The state the tour's comments describe: v1 back in production, v2 retired after its forced
    # promotion (which shipped RI-1, until the rollback), the notebook's v3 in shadow for RI-3; the scores on disk.
    from modelyard import open_yard

    with open_yard(yard) as after:
        assert {v.version: v.stage for v in after.models("churn")} == {
            1: Stage.PRODUCTION,
            2: Stage.RETIRED,
            3: Stage.SHADOW,
        }
        assert after.model("churn", 3).research_item == "RI-3"
        reasons = [c.reason for c in after.history("churn", 2)]
        assert any("forced without a passing evaluation" in r for r in reasons), reasons
        board = Board(after)
        # RI-1 shipped with the forced promotion and went back when v2 was rolled back out of production
        assert (board.item("RI-1").stage, board.item("RI-3").stage) == ("productionizing", "productionizing")
    for made in ("usecase.schema.json", "scores.parquet", "report.html", "pr.md"):
        assert (yard / made).is_file(), made
    for folder in ("scores-2024", "scores-v1", "scores-v2"):
        assert list((yard / folder).glob("part-*.parquet")), folder
