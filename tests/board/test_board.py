"""Research items, their moves and notes, and what a bad input does (nothing), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda b: b.radar(0),
            "The weeks to look ahead (--weeks) must be a whole number from 1 to 520 (ten years). Got 0 instead.",
        ),
        (
            lambda b: b.radar(99999999),
            "The weeks to look ahead (--weeks) must be a whole number from 1 to 520 (ten years). Got 99999999 instead.",
        ),
        (
            lambda b: b.radar(True),
            "The weeks to look ahead (--weeks) must be a whole number from 1 to 520 (ten years). Got True instead.",
        ),
        (
            lambda b: b.report("14d", weeks=521),
            "The weeks to look ahead (--weeks) must be a whole number from 1 to 520 (ten years). Got 521 instead.",
        ),
        (
            lambda b: b.radar(4, sprint_length_days=100000000),
            "The sprint length in days (--sprint-length) must be a whole number from 1 to 90. Got 100000000 instead.",
        ),
        (
            lambda b: b.radar(4, sprint_length_days=0),
            "The sprint length in days (--sprint-length) must be a whole number from 1 to 90. Got 0 instead.",
        ),
        (
            lambda b: b.radar(4, sprint_start="monday"),
            "The sprint start date 'monday' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-15",
        ),
    ],
)
def test_radar_parameters_are_checked(board: Board, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as raised:
        call(board)
    assert raised.value.message == message


def test_the_radar_reaches_its_bounds_without_overflowing(board: Board, today: date) -> None:
    board.add_item("far away", owner="a@t", expected_drop=today + timedelta(weeks=519))
    radar = board.radar(520, sprint_length_days=90, today=today)
    assert radar.until == today + timedelta(weeks=520)
    assert [e.item.title for s in radar.sprints for e in s.entries] == ["far away"]
    assert radar.sprints[0].end - radar.sprints[0].start == timedelta(days=89)


@pytest.mark.parametrize(
    ("since", "message"),
    [
        (
            "99999999d",
            "--since '99999999d' reaches back further than 7,305 days (20 years); give a span of at most 7305d "
            "or a date from 2006-11-26",
        ),
        (
            "1044w",
            "--since '1044w' reaches back further than 7,305 days (20 years); give a span of at most 7305d "
            "or a date from 2006-11-26",
        ),
        (
            date(1900, 1, 1),
            "--since 1900-01-01 reaches back further than 7,305 days (20 years); give a span of at most 7305d "
            "or a date from 2006-11-26",
        ),
        (
            timedelta(days=10**8),
            "--since 100000000d reaches back further than 7,305 days (20 years); give a span of at most 7305d "
            "or a date from 2006-11-26",
        ),
        (
            "2030-01-01",
            "--since '2030-01-01' is after today (2026-11-26); a report covers the past: give a day on or before "
            "today, or a span such as 14d",
        ),
        (
            timedelta(days=-1),
            "--since -1d is after today (2026-11-26); a report covers the past: give a day on or before today, "
            "or a span such as 14d",
        ),
        (14, "--since (since) must be a span such as '14d', a date or a timedelta. Got 14 instead."),
    ],
)
def test_a_report_since_the_future_or_too_long_ago_is_refused(board: Board, today: date, since, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as raised:
        board.report(since, today=today)
    assert raised.value.message == message


def test_a_report_may_reach_back_twenty_years_or_start_today(board: Board, today: date) -> None:
    assert board.report("7305d", today=today).since == date(2006, 11, 26)
    assert board.report(today, today=today).title == "Research update 2026-11-26 to 2026-11-26"
    assert board.report(datetime(2026, 11, 1, 15, 30), today=today).since == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda b: b.add_item("evil\x1b[2J"),
            "The title holds the control character '\\x1b' at position 4; write plain text",
        ),
        (lambda b: b.add_item("t" * 201), "The title is 201 characters long; keep it to 200"),
        (lambda b: b.add_item("t" * 40_000), "The title is 40,000 characters long; keep it to 200"),
        (
            lambda b: b.add_item("t", owner="bob\x07"),
            "The owner holds the control character '\\x07' at position 3; write plain text",
        ),
        (lambda b: b.add_item("t", owner="o" * 129), "The owner is 129 characters long; keep it to 128"),
        (
            lambda b: b.add_item("t", team="re\x1bsearch"),
            "The team holds the control character '\\x1b' at position 2; write plain text",
        ),
        (
            lambda b: b.add_item("t", hypothesis="h\x00"),
            "The hypothesis holds the control character '\\x00' at position 1; write plain text",
        ),
        (lambda b: b.add_item("t", hypothesis="h" * 2001), "The hypothesis is 2,001 characters long; keep it to 2,000"),
        (
            lambda b: b.note("RI-1", "AUC\x1b]0;pwned\x07"),
            "The note holds the control character '\\x1b' at position 3; write plain text",
        ),
        (lambda b: b.note("RI-1", "n" * 2001), "The note is 2,001 characters long; keep it to 2,000"),
        (
            lambda b: b.note("RI-1", "fine", author="eve\x1b[31m"),
            "The author holds the control character '\\x1b' at position 3; write plain text",
        ),
        (
            lambda b: b.move("RI-1", "exploring", reason="wh\ry"),
            "The reason holds the control character '\\r' at position 2; write plain text",
        ),
        (
            lambda b: b.move("RI-1", "exploring", reason="r" * 2001),
            "The reason is 2,001 characters long; keep it to 2,000",
        ),
        (
            lambda b: b.move("RI-1", "exploring", reason="r", actor="a" * 129),
            "The actor is 129 characters long; keep it to 128",
        ),
        (lambda b: b.add_item("t", team=5), "The team must be text (str). Got 5 instead."),
        (lambda b: b.add_item("t", hypothesis=42), "The hypothesis must be text (str). Got 42 instead."),
        (lambda b: b.add_item(["t"]), "The title must be text (str). Got ['t'] instead."),
        (lambda b: b.add_item("t", owner=7), "The owner must be text (str). Got 7 instead."),
        (
            lambda b: b.add_item("t", use_case="doesnotexist"),
            "No use case 'doesnotexist' in this yard (it knows churn); name one of them with --use-case, "
            "or write usecases/doesnotexist.yaml first",
        ),
        (
            lambda b: b.add_item("t", target="roc_auc>=1.7"),
            "The target 'roc_auc>=1.7' is outside the range of roc_auc, which is from 0 to 1; give a value in "
            "[0, 1], e.g. 'roc_auc>=0.8'",
        ),
        (
            lambda b: b.add_item("t", target="roc_auc>=-5"),
            "The target 'roc_auc>=-5' is outside the range of roc_auc, which is from 0 to 1; give a value in "
            "[0, 1], e.g. 'roc_auc>=0.8'",
        ),
        (
            lambda b: b.add_item("t", target=Target("brier", "<=", 2.0)),
            "The target 'brier <= 2' is outside the range of brier, which is from 0 to 1; give a value in "
            "[0, 1], e.g. 'brier<=0.8'",
        ),
        (
            lambda b: b.add_item("t", target="log_loss<=-0.1"),
            "The target 'log_loss<=-0.1' is below 0, which log_loss never is; give a value of 0 or more, "
            "e.g. 'log_loss<=0.4'",
        ),
        (
            lambda b: b.add_item("t", target="cost_saving>=1e400"),
            "The target 'cost_saving>=1e400' needs a finite number after >=; write e.g. 'roc_auc>=0.64'",
        ),
        (
            lambda b: b.updates(since="yesterday"),
            "--since 'yesterday' is neither a span nor a date; write e.g. 14d, 2w or 2026-11-01",
        ),
    ],
)
def test_board_text_and_fields_are_checked_before_anything_is_written(board: Board, call, message: str) -> None:  # type: ignore[no-untyped-def]
    board.add_item("existing", owner="a@t")
    before = _state(board)
    with pytest.raises((UsageError, NotFoundError)) as raised:
        call(board)
    assert raised.value.message == message
    assert _state(board) == before


def test_targets_inside_their_metric_range_and_texts_with_tabs_and_newlines_are_kept(board: Board) -> None:
    item = board.add_item(
        "t" * 200,
        hypothesis="line one\nline two\twith a tab",
        owner="o" * 128,
        target="roc_auc>=1",
    )
    assert (len(item.title), len(item.owner), item.hypothesis) == (200, 128, "line one\nline two\twith a tab")
    assert item.target == Target("roc_auc", ">=", 1.0)
    for target in ("roc_auc>=0", "log_loss<=0.3", "cost_saving>=-500", "cost_per_1000<=-20", "expected_cost<=1e6"):
        assert board.add_item("t", target=target).target is not None


def test_the_author_of_every_board_change_is_who_made_it_not_the_owner(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    yard = board.yard
    assert yard.settings.author == "tester"
    item = board.add_item("x", owner="carol@research")
    board.move(item.id, "exploring", reason="started")
    board.note(item.id, "AUC 0.8")
    yard.register("churn", make_model(1.0), author="dan")
    board.link(item.id, "churn", 1)
    authors = [(u.kind, u.author) for u in board.updates(item.id)]
    assert authors == [
        ("created", "tester"),
        ("stage", "tester"),
        ("note", "tester"),
        ("link", "tester"),
        ("stage", "tester"),
    ]
    assert board.item(item.id).owner == "carol@research"
    # someone named explicitly is recorded as such
    board.note(item.id, "from the standup", author="erin")
    assert board.updates(item.id)[-1].author == "erin"


def test_the_python_api_takes_a_use_case_object_and_any_kind_of_since(board: Board, today: date) -> None:
    spec = board.yard.use_case("churn")
    item = board.add_item("a", use_case=spec, team="  ", owner="carol@research")
    assert (item.use_case, item.team) == ("churn", "research")
    everything = board.updates()
    assert len(everything) == 1
    assert board.updates(since="2026-01-01") == everything
    assert board.updates(since="14d") == everything
    assert board.updates(since=date.today()) == everything
    assert board.updates(since=datetime.now(UTC) - timedelta(minutes=5)) == everything
    assert board.updates(since=datetime.now(UTC) + timedelta(minutes=5)) == []
    assert board.updates(since=datetime.now() - timedelta(days=2)) == everything  # naive: UTC
