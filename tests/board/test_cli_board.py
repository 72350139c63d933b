"""``modelyard board …`` and ``modelyard feasibility`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

runner = CliRunner()


def test_add_move_note_show_portfolio_radar_report(cli, yard_root: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "board",
        "add",
        "Gradient boosting on usage signals",
        "--owner",
        "carol@research",
        "--risk",
        "risky",
        "--target",
        "roc_auc>=0.8",
        "--drop",
        "2030-01-10",
        "--use-case",
        "churn",
    )
    assert (code, err) == (0, "") and "added RI-1 Gradient boosting on usage signals (idea, risky)" in out
    assert cli("board", "add", "Recalibrate", "--owner", "alice@retention", "--drop", "2030-01-20")[0] == 0
    code, out, _ = cli("board", "move", "RI-1", "exploring", "--reason", "first notebook")
    assert code == 0 and "RI-1: idea → exploring  (first notebook)" in out
    assert cli("board", "note", "ri-1", "AUC 0.81 on March")[0] == 0
    code, out, _ = cli("board", "show", "RI-1", "--json")
    shown = json.loads(out)
    assert shown["stage"] == "exploring" and [u["kind"] for u in shown["updates"]] == ["created", "stage", "note"]
    code, out, _ = cli("board", "show", "--html", "board.html")
    assert code == 0 and "Research board" in out and "RI-2" in out
    assert "Gradient boosting on usage signals" in (yard_root / "board.html").read_text()
    code, out, _ = cli("board", "portfolio")
    assert code == 0 and "warning:" in out and "carol@research" in out
    code, out, _ = cli("board", "radar", "--weeks", "600", "--json")
    assert code == 0 and json.loads(out)["sprints"][0]["items"][0]["id"] == "RI-1"
    code, out, _ = cli("board", "report", "--since", "14d", "--out", "reports")
    assert code == 0 and "wrote" in out
    (md,) = (yard_root / "reports").glob("*.md")
    assert "| " in md.read_text() and "RI-1" in md.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("board", "move", "RI-7", "exploring", "--reason", "r"), "error: No research item 'RI-7' on the board"),
        (("board", "move", "RI-1", "shipped"), "error: A stage move needs a reason"),
        (("board", "move", "RI-1", "idea", "--reason", "r"), "error: RI-1 is already idea; nothing to change"),
        (
            ("board", "add", "t", "--drop", "31/12/2026"),
            "error: The expected drop date '31/12/2026' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-15",
        ),
        (
            ("board", "add", "t", "--target", "gini>=0.3"),
            "error: The target 'gini>=0.3' names an unknown metric 'gini'",
        ),
        (("feasibility", "churn", "--target", "gini>=0.3"), "error: The target 'gini>=0.3' names an unknown metric"),
        (("feasibility", "churn", "--target", "roc_auc>=0.7"), "error: No data for a learning curve at"),
    ],
)
def test_a_mistake_is_one_line_exit_2_and_changes_nothing(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    assert cli("board", "add", "existing")[0] == 0
    before = cli("board", "show", "--json")[1]
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err
    assert cli("board", "show", "--json")[1] == before


def test_feasibility_on_too_little_data_says_how_much_is_needed(cli, yard_root: Path) -> None:  # type: ignore[no-untyped-def]
    from modelyard.demo._data import load_raw_churn

    load_raw_churn().iloc[:150].to_parquet(yard_root / "small.parquet")
    code, _out, err = cli("feasibility", "churn", "--target", "roc_auc>=0.7", "--data", "small.parquet")
    assert code == 2 and "needs at least 250 labelled rows with 50 of the rarer class; the data has 150 rows" in err
    assert not (yard_root / "feasibility.png").exists()
