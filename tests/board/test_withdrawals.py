"""A shipped item whose model leaves production: real promotions, rollbacks and retirements."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.board import Board, ItemStage
from modelyard.board._automation import ROLLED_BACK


def _moves(board: Board, item_id: str) -> list[tuple[str, str, str]]:
    return [
        (u.from_stage.value if u.from_stage else "·", u.to_stage.value if u.to_stage else "·", u.text)
        for u in board.updates(item_id)
        if u.kind == "stage"
    ]


def test_the_readme_tour_rollback_then_retire_sends_the_item_back_to_productionizing(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    item = board.add_item("Gradient boosting on usage signals", owner="carol@research", use_case="churn")
    yard.register("churn", make_model(1.0), author="alice@retention")
    yard.promote("churn", 1, reason="first production model", actor="bob@platform")
    yard.register("churn", make_model(0.5), research_item=item.id, author="carol@research")
    yard.promote("churn", 2, reason="higher AUC", force=True, why="one-week trial", actor="bob@platform")
    assert board.item(item.id).stage == ItemStage.SHIPPED

    changes = yard.rollback("churn", reason="over-contacts loyal customers", actor="bob@platform")
    assert changes[0].reason.startswith(ROLLED_BACK)  # the registry's wording the board reads
    assert board.item(item.id).stage == ItemStage.PRODUCTIONIZING
    assert _moves(board, item.id)[-1] == (
        "shipped",
        "productionizing",
        "automatic: churn/v2 was rolled back out of production by bob@platform (over-contacts loyal customers); "
        "v1 is back in production; no other model of RI-1 is in production",
    )

    yard.transition("churn", 2, "retired", reason="uses a leaked feature", actor="dan@research")
    last = board.updates(item.id)[-1]
    assert board.item(item.id).stage == ItemStage.PRODUCTIONIZING  # already back; the retirement is noted
    assert (last.kind, last.author, last.text) == (
        "model",
        "dan@research",
        "churn/v2 was retired by dan@research (uses a leaked feature); it was archived before",
    )
    report = board.report("14d").markdown
    assert "| shipped → productionizing | bob@platform | automatic: churn/v2 was rolled back" in report
    assert "churn/v2 was retired by dan@research (uses a leaked feature)" in report

    # the item can ship again with a new model
    yard.register("churn", make_model(2.0), research_item=item.id, author="carol@research")
    yard.promote("churn", 3, reason="leak removed", force=True, why="trial", actor="bob@platform")
    assert board.item(item.id).stage == ItemStage.SHIPPED


def test_a_rollback_that_retires_and_a_replaced_version_that_is_retired_later(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    ri1 = board.add_item("first model", owner="a@t", use_case="churn")
    ri2 = board.add_item("second model", owner="b@t", use_case="churn")
    yard.register("churn", make_model(1.0), research_item=ri1.id)
    yard.promote("churn", 1, reason="first", actor="bob")
    yard.register("churn", make_model(0.5), research_item=ri2.id)
    yard.promote("churn", 2, reason="cheaper", force=True, why="trial", actor="bob")
    # v1 was replaced by a newer model, not withdrawn: RI-1 delivered and stays shipped, with a note
    assert board.item(ri1.id).stage == board.item(ri2.id).stage == ItemStage.SHIPPED
    note = board.updates(ri1.id)[-1]
    assert (note.kind, note.text) == (
        "model",
        "churn/v1 left production (replaced by v2: cheaper [forced without a passing evaluation: trial]; by bob)",
    )

    yard.rollback("churn", reason="broke the nightly batch", actor="eve", retire=True)
    assert board.item(ri2.id).stage == ItemStage.PRODUCTIONIZING
    assert _moves(board, ri2.id)[-1][2] == (
        "automatic: churn/v2 was rolled back out of production and retired by eve (broke the nightly batch); "
        "v1 is back in production; no other model of RI-2 is in production"
    )
    assert board.item(ri1.id).stage == ItemStage.SHIPPED  # v1 is in production again

    # a replaced version withdrawn later for cause takes its item's shipment back too: it served, and
    # retiring it says what it delivered should not have been (a version that never served does not)
    yard.register("churn", make_model(2.0))
    yard.promote("churn", 3, reason="retrained", force=True, why="trial", actor="bob")
    assert board.item(ri1.id).stage == ItemStage.SHIPPED  # v1 served until v3 replaced it
    yard.transition("churn", 1, "retired", reason="trained on mislabelled rows", actor="eve")
    assert board.item(ri1.id).stage == ItemStage.PRODUCTIONIZING
    assert _moves(board, ri1.id)[-1][2] == (
        "automatic: churn/v1 was retired by eve (trained on mislabelled rows); it was archived before; "
        "no other model of RI-1 is in production"
    )


def test_an_item_with_another_model_in_production_stays_shipped(board: Board, make_model, yard_root: Path) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    spec = (yard_root / "usecases" / "churn.yaml").read_text(encoding="utf-8")
    (yard_root / "usecases" / "churn_b2b.yaml").write_text(
        spec.replace("name: churn\n", "name: churn_b2b\n", 1), encoding="utf-8"
    )
    item = board.add_item("one idea, two use cases", owner="carol@research")
    yard.register("churn", make_model(1.0))
    yard.promote("churn", 1, reason="first", actor="bob")
    yard.register("churn", make_model(0.5), research_item=item.id)
    yard.promote("churn", 2, reason="better", force=True, why="trial", actor="bob")
    yard.register("churn_b2b", make_model(0.5), research_item=item.id)
    yard.promote("churn_b2b", 1, reason="first b2b model", actor="bob")
    assert board.item(item.id).stage == ItemStage.SHIPPED

    yard.rollback("churn", reason="too many offers", actor="eve")
    assert board.item(item.id).stage == ItemStage.SHIPPED
    last = board.updates(item.id)[-1]
    assert (last.kind, last.text) == (
        "model",
        "churn/v2 was rolled back out of production by eve (too many offers); v1 is back in production; "
        "RI-1 stays shipped with churn_b2b/v1 (in production)",
    )
    assert [u.kind for u in board.updates(item.id)].count("stage") == 2  # productionizing, shipped; no more


def test_retiring_a_candidate_of_a_shipped_item_moves_nothing(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    item = board.add_item("shipped, then a second try", owner="a@t", use_case="churn")
    board.move(item.id, "shipped", reason="shipped by a rules engine, no model")
    yard.register("churn", make_model(1.0), research_item=item.id)
    yard.transition("churn", 1, "retired", reason="not better than the rules", actor="eve")
    assert board.item(item.id).stage == ItemStage.SHIPPED
    assert board.updates(item.id)[-1].text == (
        "churn/v1 was retired by eve (not better than the rules); it was candidate before"
    )


@pytest.mark.parametrize("gone", ["retired", "archived"])
def test_linking_a_retired_or_archived_version_does_not_move_the_item(board: Board, make_model, gone: str) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    yard.register("churn", make_model(1.0))
    if gone == "retired":
        yard.transition("churn", 1, "retired", reason="not good enough", actor="eve")
    else:  # archived: replaced in production by v2
        yard.promote("churn", 1, reason="first", actor="bob")
        yard.register("churn", make_model(0.5))
        yard.promote("churn", 2, reason="better", force=True, why="trial", actor="bob")
    assert yard.model("churn", 1).stage.value == gone
    item = board.add_item("second look", owner="carol@research", stage="exploring")
    linked = board.link(item.id, "churn", 1)
    assert linked.stage == ItemStage.EXPLORING and [link.ref for link in linked.links] == ["churn/v1"]
    last = board.updates(item.id)[-1]
    assert (last.kind, last.author, last.text) == (
        "link",
        "tester",
        f"linked churn/v1: linked by tester; churn/v1 is {gone}, so RI-1 does not move",
    )
    assert [u.kind for u in board.updates(item.id)] == ["created", "link"]


def test_an_item_added_after_its_version_was_retired_adopts_it_without_moving(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    yard.register("churn", make_model(1.0), research_item="RI-1")
    yard.transition("churn", 1, "retired", reason="not good enough", actor="eve")
    item = board.add_item("came later", owner="carol@research")
    assert item.stage == ItemStage.IDEA and [link.ref for link in item.links] == ["churn/v1"]
    assert board.updates(item.id)[-1].text == (
        "linked churn/v1: churn/v1 was registered with research item RI-1 before the item existed; "
        "churn/v1 is retired, so RI-1 does not move"
    )
