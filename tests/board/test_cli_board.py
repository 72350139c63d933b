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
    code, out, _ = cli("board", "radar", "--weeks", "520", "--json")
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
        (
            ("board", "radar", "--weeks", "99999999"),
            "error: The weeks to look ahead (--weeks) must be a whole number from 1 to 520 (ten years). "
            "Got 99999999 instead.",
        ),
        (
            ("board", "radar", "--sprint-length", "100000000"),
            "error: The sprint length in days (--sprint-length) must be a whole number from 1 to 90. "
            "Got 100000000 instead.",
        ),
        (
            ("board", "report", "--since", "99999999d"),
            "error: --since '99999999d' reaches back further than 7,305 days (20 years); give a span of at most "
            "7305d or a date from ",
        ),
        (("board", "report", "--since", "2030-01-01"), "error: --since '2030-01-01' is after today ("),
        (
            ("board", "add", "evil\x1b[2J"),
            "error: The title holds the control character '\\x1b' at position 4; write plain text",
        ),
        (("board", "add", "t" * 40_000), "error: The title is 40,000 characters long; keep it to 200"),
        (
            ("board", "add", "t", "--owner", "carol\x1b[31m"),
            "error: The owner holds the control character '\\x1b' at position 5; write plain text",
        ),
        (
            ("board", "add", "t", "--team", "x\x07"),
            "error: The team holds the control character '\\x07' at position 1; write plain text",
        ),
        (
            ("board", "add", "t", "--hypothesis", "h\x1b]0;t\x07"),
            "error: The hypothesis holds the control character '\\x1b' at position 1; write plain text",
        ),
        (
            ("board", "note", "RI-1", "n\x1bc"),
            "error: The note holds the control character '\\x1b' at position 1; write plain text",
        ),
        (
            ("board", "move", "RI-1", "exploring", "--reason", "r\x1b[2J"),
            "error: The reason holds the control character '\\x1b' at position 1; write plain text",
        ),
        (
            ("board", "add", "t", "--target", "roc_auc>=1.7"),
            "error: The target 'roc_auc>=1.7' is outside the range of roc_auc, which is from 0 to 1; give a value "
            "in [0, 1], e.g. 'roc_auc>=0.8'",
        ),
        (
            ("board", "add", "t", "--use-case", "doesnotexist"),
            "error: No use case 'doesnotexist' in this yard (it knows churn); name one of them with --use-case, "
            "or write usecases/doesnotexist.yaml first",
        ),
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


def test_the_author_of_an_add_is_the_logged_in_user_and_show_writes_one_items_html(cli, yard_root: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("board", "add", "x", "--owner", "carol@research", "--hypothesis", "<b>trees</b> help")[0] == 0
    code, out, _ = cli("board", "show", "RI-1", "--json")
    shown = json.loads(out)
    assert shown["owner"] == "carol@research"
    assert [(u["kind"], u["author"]) for u in shown["updates"]] == [("created", "cli-tester")]

    code, out, err = cli("board", "show", "RI-1", "--html", "ri-1.html")
    assert (code, err) == (0, "") and "RI-1 x" in out and "wrote ri-1.html" in out
    page = (yard_root / "ri-1.html").read_text()
    assert "<title>RI-1 x</title>" in page and "&lt;b&gt;trees&lt;/b&gt; help" in page
    assert "<td>carol@research (team research)</td>" in page and "<td>added as idea</td>" in page
    code, out, _ = cli("board", "show", "RI-1", "--html", "ri-1b.html", "--json")
    assert code == 0 and json.loads(out)["id"] == "RI-1" and (yard_root / "ri-1b.html").exists()


def test_linking_a_retired_version_says_the_item_does_not_move(
    cli, yard_root: Path, store_url: str, make_model
) -> None:  # type: ignore[no-untyped-def]
    from modelyard import Settings, Yard

    with Yard(Settings(root=yard_root, database_url=store_url, author="alice")) as yard:
        yard.register("churn", make_model(1.0))
        yard.transition("churn", 1, "retired", reason="not good enough")
    assert cli("board", "add", "second look", "--stage", "exploring")[0] == 0
    code, out, err = cli("board", "link", "RI-1", "churn", "1")
    assert (code, err) == (0, "")
    assert out.strip() == "linked churn/1 to RI-1 (now exploring; churn/1 is retired, so it does not move the item)"
