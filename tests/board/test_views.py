"""The research update, the HTML Kanban, the demo's board, and the package's public names."""

from __future__ import annotations

import importlib
import re
from datetime import date, timedelta

from rich.console import Console

from modelyard.board import Board, demo_stage, kanban_html
from modelyard.board._views import effort_of
from modelyard.store import Store, utcnow


def test_the_research_update_lists_what_changed(board: Board, make_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    today = utcnow().date()
    late = board.add_item("Late one", owner="dan@research", expected_drop=today - timedelta(days=3))
    item = board.add_item("Boosting", owner="carol@research", use_case="churn", expected_drop=today + timedelta(days=5))
    v1 = yard.register("churn", make_model(1.0), author="alice")
    v2 = yard.register("churn", make_model(0.5), research_item=item.id, author="carol@research")
    yard.promote("churn", v1.version, reason="first", actor="bob")
    board.note(item.id, "shadow results look good")
    with yard.store.writing() as conn:
        Store.save_evaluation(
            conn,
            {
                "use_case": "churn",
                "challenger_version": v2.version,
                "champion_version": v1.version,
                "verdict": "PROMOTE",
                "schema_version": "1",
                "result": {  # the parts of a schema-1 evaluation the report reads
                    "data": {"rows": 2000},
                    "comparison": {
                        "baseline": "v1",
                        "saving": {"value": 36500.0, "low": 12000.0, "high": 61000.0, "level": 0.95},
                        "saving_per_1000": {"value": 18250.0, "low": 6000.0, "high": 30500.0, "level": 0.95},
                    },
                },
                "created_at": utcnow(),
            },
        )
    report = board.report("14d")
    md = report.markdown
    assert md.startswith(f"# Research update {(today - timedelta(days=14)).isoformat()} to {today.isoformat()}")
    assert "| churn/v2 | candidate | carol@research | RI-2 |" in md  # new candidate with its item
    assert "| verdict | saving per 1,000 decisions [95% interval] |" in md
    assert "| churn/v2 | v1 | PROMOTE | 18,250 [6,000, 30,500] |" in md  # per 1,000 decisions, not the total
    assert "idea → productionizing" in md and "automatic: churn/v2 is a candidate" in md
    assert f"| {late.id} | Late one | dan@research | idea | {(today - timedelta(days=3)).isoformat()} | 3 days |" in md
    assert "shadow results look good" in md
    md_path, html_path = report.write(tmp_path / "out")
    assert md_path.read_text() == md and "<table>" in html_path.read_text()
    assert "Late one" in html_path.read_text()
    old = board.report(date(2020, 1, 1), today=date(2020, 1, 14))
    assert "_No item changed stage._" in old.markdown


def test_the_report_shows_the_saving_the_evaluation_itself_shows(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    """A real stored evaluation: the report's figure is the summary's 'saving per 1,000 decisions'."""
    from modelyard.demo._data import load_raw_churn
    from modelyard.evaluate._report_terminal import summary

    yard = board.yard
    yard.register("churn", make_model(1.0))
    yard.promote("churn", 1, reason="first", actor="bob")
    yard.register("churn", make_model(0.01))
    evaluation = yard.evaluate("churn", 2, data=load_raw_churn().iloc[-1400:], replicates=200, baseline=False)
    console = Console(record=True, width=250)
    console.print(summary(evaluation.result))
    match = re.search(r"saving per 1,000 decisions (-?[\d,.]+ \[-?[\d,.]+, -?[\d,.]+\])", console.export_text())
    assert match, console.export_text()
    total = f"{evaluation.result['comparison']['saving']['value']:,.0f}"
    row = f"| churn/v2 | v1 | {evaluation.verdict} | {match.group(1)} |"
    report = board.report("14d").markdown
    assert row in report and f"| {total} |" not in report, (row, report)
    with yard.store.reading() as conn:  # the radar's integration effort reads the same figure
        assert str(effort_of(conn, "churn", 2).saving) == match.group(1)


def test_the_html_kanban_is_escaped_and_self_contained(board: Board) -> None:
    board.add_item("<script>alert(1)</script>", owner="x@y", risk="risky")
    page = kanban_html(board.kanban())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "http" not in page


def test_the_demo_board_links_the_challenger_registered_before_it(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    yard.register("churn", make_model(1.0))
    v2 = yard.register("churn", make_model(0.5), research_item="RI-1")
    yard.transition("churn", v2.version, "shadow", reason="shadow")
    console = Console(record=True, width=200)
    demo_board = demo_stage(yard, console)
    items = demo_board.items()
    assert 5 <= len(items) <= 7 and {i.risk.value for i in items} == {"safe", "risky"}
    assert len({i.owner for i in items}) >= 3
    ri1 = demo_board.item("RI-1")
    assert ri1.title == "Gradient boosting on usage signals"
    assert [link.ref for link in ri1.links] == ["churn/v2"] and ri1.stage.value == "productionizing"
    text = console.export_text()
    assert "Research board" in text and "Drop radar" in text and "churn/v2 (shadow)" in text


def test_every_exported_name_exists_and_has_a_docstring() -> None:
    module = importlib.import_module("modelyard.board")
    assert module.__doc__ and module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    for member in module.__all__:
        obj = getattr(module, member)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, f"modelyard.board.{member} has no docstring"


def test_a_saving_is_read_per_1000_decisions_and_never_a_total_passed_off_as_one() -> None:
    from modelyard.board import Saving
    from modelyard.board._views import saving_of

    rate = {"value": -2308.04, "low": -3588.2, "high": -945.5, "level": 0.95}
    total = {"value": -3254.34, "low": -5059.38, "high": -1333.21, "level": 0.95}
    assert str(saving_of({"comparison": {"saving_per_1000": rate, "saving": total}})) == "-2,308 [-3,588, -946]"
    scaled = saving_of({"data": {"rows": 1410}, "comparison": {"saving": total}})
    assert scaled is not None and round(scaled.per_1000, 2) == -2308.04
    assert saving_of({"comparison": {"saving": total}}) is None  # no row count: no rate
    assert saving_of({"saving": 18250.0}) is None and saving_of({}) is None
    assert str(Saving(45.25, 12.5, 80.0)) == "45.2 [12.5, 80.0]"  # small amounts keep a decimal, as evaluate does
