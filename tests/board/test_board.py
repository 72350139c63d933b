"""Research items, their moves and notes, and what a bad input does (nothing), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from modelyard import IllegalStageChangeError, NotFoundError, UsageError
from modelyard.board import ALLOWED_ITEM_MOVES, Board, ItemStage, Risk, Target


def _state(board: Board) -> tuple[list[dict], int]:
    return [i.to_dict() for i in board.items()], len(board.updates())


def test_an_item_is_added_with_every_field_and_read_back(board: Board) -> None:
    item = board.add_item(
        "Gradient boosting on usage signals",
        hypothesis="Trees catch interactions",
        use_case="churn",
        owner="carol@research",
        risk="risky",
        target="roc_auc>=0.8",
        expected_drop="2026-12-15",
    )
    assert item.id == "RI-1" and item.stage == ItemStage.IDEA and item.risk == Risk.RISKY
    assert item.team == "research" and item.quarter == "2026Q4"
    assert item.target == Target("roc_auc", ">=", 0.8) and item.expected_drop == date(2026, 12, 15)
    assert board.item("ri-1") == item == board.item("1")
    assert board.add_item("Second", owner="alice", team="retention").id == "RI-2"
    assert [u.kind for u in board.updates("RI-1")] == ["created"]


def test_moves_forward_skip_back_one_step_and_end_at_shipped_or_dropped(board: Board) -> None:
    item = board.add_item("x", owner="a@t")
    board.move(item.id, "productionizing", reason="notebook done, straight to the handoff")
    with pytest.raises(
        IllegalStageChangeError,
        match=r"RI-1 cannot move from productionizing to idea \(back only one step at a time\); "
        r"from productionizing it can go to exploring, shipped, dropped",
    ):
        board.move(item.id, "idea", reason="start over")
    board.move(item.id, "exploring", reason="the candidate failed its check")
    moved = board.move(item.id, "shipped", reason="live")
    assert moved.stage == ItemStage.SHIPPED
    with pytest.raises(IllegalStageChangeError, match=r"RI-1 is shipped, which is final; add a new item"):
        board.move(item.id, "dropped", reason="oops")
    history = [(u.from_stage, u.to_stage, u.text) for u in board.updates(item.id) if u.kind == "stage"]
    assert history[-1] == (ItemStage.EXPLORING, ItemStage.SHIPPED, "live")


def test_backward_moves_go_one_step_only() -> None:
    assert ItemStage.EXPLORING in ALLOWED_ITEM_MOVES[ItemStage.PRODUCTIONIZING]
    assert ItemStage.IDEA not in ALLOWED_ITEM_MOVES[ItemStage.PRODUCTIONIZING]
    assert ALLOWED_ITEM_MOVES[ItemStage.SHIPPED] == ALLOWED_ITEM_MOVES[ItemStage.DROPPED] == frozenset()
    assert all(ItemStage.DROPPED in ALLOWED_ITEM_MOVES[s] for s in (ItemStage.IDEA, ItemStage.EXPLORING))


def test_notes_are_dated_updates(board: Board) -> None:
    item = board.add_item("x", owner="a@t")
    note = board.note(item.id, "AUC 0.81 on March", author="carol")
    assert note.kind == "note" and note.author == "carol" and note.at.tzinfo is not None
    assert [u.text for u in board.updates(item.id)][-1] == "AUC 0.81 on March"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda b: b.move("RI-9", "exploring", reason="r"),
            NotFoundError,
            r"No research item 'RI-9' on the board; it has RI-1",
        ),
        (
            lambda b: b.note("banana", "t"),
            UsageError,
            r"The item id 'banana' is not a research item id; write it as RI-<number>",
        ),
        (lambda b: b.move("RI-1", "shipped", reason=" "), UsageError, r"A stage move needs a reason"),
        (
            lambda b: b.move("RI-1", "launched", reason="r"),
            UsageError,
            r"The stage 'launched' is not a research stage; use one of idea",
        ),
        (
            lambda b: b.move("RI-1", "idea", reason="r"),
            IllegalStageChangeError,
            r"RI-1 is already idea; nothing to change",
        ),
        (
            lambda b: b.add_item("t", expected_drop="2026-13-01"),
            UsageError,
            r"The expected drop date '2026-13-01' is not a date; write it as YYYY-MM-DD",
        ),
        (
            lambda b: b.add_item("t", expected_drop="next week"),
            UsageError,
            r"expected drop date 'next week' is not a date",
        ),
        (
            lambda b: b.add_item("t", target="auc>=0.7"),
            UsageError,
            r"The target 'auc>=0.7' names an unknown metric 'auc'; use one of roc_auc",
        ),
        (
            lambda b: b.add_item("t", target="roc_auc about 0.7"),
            UsageError,
            r"is not METRIC OP VALUE; write e.g. 'roc_auc>=0.64'",
        ),
        (
            lambda b: b.add_item("t", risk="medium"),
            UsageError,
            r"The risk 'medium' is not a risk level; use safe or risky",
        ),
        (lambda b: b.add_item(" "), UsageError, r"A research item needs a title"),
        (lambda b: b.add_item("t", quarter="Q5"), UsageError, r"The quarter 'Q5' is not a quarter; write it as YYYYQn"),
        (
            lambda b: b.add_item("t", stage="shipped"),
            UsageError,
            r"A new item starts as idea, exploring or productionizing",
        ),
        (lambda b: b.link("RI-1", "churn", "v7"), NotFoundError, r"No use case 'churn'|churn has no version v7"),
    ],
)
def test_a_bad_input_raises_one_clear_error_and_changes_nothing(board: Board, call, error, message) -> None:  # type: ignore[no-untyped-def]
    board.add_item("existing", owner="a@t")
    before = _state(board)
    with pytest.raises(error, match=message):
        call(board)
    assert _state(board) == before


def test_the_board_settings_refuse_an_inverted_policy() -> None:
    from modelyard.board import BoardSettings

    with pytest.raises(ValueError, match="risky_min"):
        BoardSettings(risky_min=0.5, risky_max=0.3)
    assert BoardSettings().sprint_start.weekday() == 0  # a Monday


def test_concurrent_adds_get_distinct_ids(board: Board) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda n: board.add_item(f"item {n}", owner="a@t").id, range(12)))
    assert sorted(ids, key=lambda i: int(i[3:])) == [f"RI-{n}" for n in range(1, 13)]


def test_board_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.board import BoardSettings

    monkeypatch.setenv("MODELYARD_BOARD_SPRINT_LENGTH_DAYS", "7")
    monkeypatch.setenv("MODELYARD_BOARD_SPRINT_START", "2026-11-02")
    monkeypatch.setenv("MODELYARD_BOARD_RISKY_MAX", "0.5")
    settings = BoardSettings()
    assert (settings.sprint_length_days, settings.sprint_start, settings.risky_max) == (7, date(2026, 11, 2), 0.5)
    for name, field in BoardSettings.model_fields.items():
        assert field.description, f"BoardSettings.{name} is not documented"


def test_radar_parameters_are_checked(board: Board) -> None:
    with pytest.raises(UsageError, match=r"The 'weeks' parameter must be a whole number of weeks, 1 or more. Got 0"):
        board.radar(0)
    with pytest.raises(UsageError, match=r"The sprint start date 'monday' is not a date"):
        board.radar(4, sprint_start="monday")
