"""A board of 20 items with linked model versions: automatic moves, radar sprints, portfolio shares."""

from __future__ import annotations

from datetime import date, timedelta

from modelyard.board import Board, ItemStage, Risk, Saving
from modelyard.store import Store, utcnow

TODAY = date(2026, 11, 26)  # as in conftest: sprint 24 of 2026 runs Nov 23 – Dec 6
SPRINT_START, SPRINT_DAYS = date(2026, 1, 5), 14

OWNERS = ["alice@retention", "bob@retention", "carol@research", "dan@research"]
# (owner index, risky?, expected drop in days from TODAY, or None)
PLAN = [
    (0, False, -10),
    (0, True, 2),
    (0, False, 9),
    (0, False, 15),
    (0, False, 40),
    (1, False, 3),
    (1, False, 11),
    (1, False, 25),
    (1, False, None),
    (1, False, 60),
    (2, True, -3),
    (2, True, 4),
    (2, True, 12),
    (2, False, 18),
    (2, True, 30),
    (3, True, 0),
    (3, False, 10),
    (3, True, 24),
    (3, False, 41),
    (3, True, 42),
]


def _build(board: Board, make_model) -> dict[str, object]:  # type: ignore[no-untyped-def]
    yard = board.yard
    made = {}
    for n, (owner, risky, days) in enumerate(PLAN[:19], start=1):
        made[n] = board.add_item(
            f"item {n}",
            owner=OWNERS[owner],
            risk="risky" if risky else "safe",
            use_case="churn",
            expected_drop=TODAY + timedelta(days=days) if days is not None else None,
            stage="exploring" if n % 3 == 0 else "idea",
        )
    # A registration naming an item the board does not have yet, and one naming free text: both register.
    early = yard.register("churn", make_model(0.25), research_item="RI-20", author="dan@research")
    free = yard.register("churn", make_model(0.5), research_item="JIRA-77", author="eve")
    assert (early.version, free.version) == (1, 2)
    owner, risky, days = PLAN[19]
    made[20] = board.add_item(
        "item 20", owner=OWNERS[owner], risk="risky", use_case="churn", expected_drop=TODAY + timedelta(days=days)
    )
    v3 = yard.register("churn", make_model(1.0), research_item="RI-2", author="alice@retention")
    v4 = yard.register("churn", make_model(2.0), research_item="ri-12", author="carol@research")
    board.link("RI-13", "churn", v4.version, actor="carol@research")
    yard.promote("churn", v3.version, reason="cheaper than nothing", actor="bob@platform")
    board.move("RI-10", "dropped", reason="no data", actor="bob@retention")
    board.move("RI-19", "dropped", reason="superseded", actor="dan@research")
    with yard.store.writing() as conn:
        Store.save_check_result(
            conn,
            "churn",
            v4.version,
            passed=False,
            result={
                "checks": [
                    {"name": "contract.outputs", "status": "FAIL", "message": "no label column"},
                    {"name": "latency_p99_ms", "status": "FAIL", "message": "61 ms > 50 ms"},
                    {"name": "memory_mb", "status": "PASS"},
                ]
            },
            now=utcnow(),
        )
        Store.save_evaluation(
            conn,
            {
                "use_case": "churn",
                "challenger_version": v4.version,
                "champion_version": v3.version,
                "verdict": "HOLD",
                "schema_version": "1",
                "result": {  # schema 1 with only the total saving: scaled by the rows to per 1,000
                    "data": {"rows": 2500},
                    "comparison": {"saving": {"value": 31250.0, "low": 5000.0, "high": 60000.0, "level": 0.95}},
                },
                "created_at": utcnow(),
            },
        )
    return made


def test_automatic_moves_link_versions_and_record_their_cause(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    _build(board, make_model)
    items = {i.id: i for i in board.items()}
    assert len(items) == 20
    # registered before its item existed: linked at creation and moved on
    assert [link.ref for link in items["RI-20"].links] == ["churn/v1"]
    assert items["RI-20"].stage == ItemStage.PRODUCTIONIZING
    cause = [u.text for u in board.updates("RI-20") if u.kind == "stage"][-1]
    assert "churn/v1 is a candidate" in cause and "before the item existed" in cause
    # registered, then promoted: shipped, with both moves on record
    assert items["RI-2"].stage == ItemStage.SHIPPED
    moves = [(u.from_stage, u.to_stage, u.author) for u in board.updates("RI-2") if u.kind == "stage"]
    assert moves == [
        (ItemStage.IDEA, ItemStage.PRODUCTIONIZING, "alice@retention"),
        (ItemStage.PRODUCTIONIZING, ItemStage.SHIPPED, "bob@platform"),
    ]
    assert (
        "churn/v3 reached production (promoted by bob@platform: cheaper than nothing)" in board.updates("RI-2")[-1].text
    )
    # 'ri-12' names RI-12; RI-13 was linked by hand to the same version
    assert items["RI-12"].stage == items["RI-13"].stage == ItemStage.PRODUCTIONIZING
    assert [link.ref for link in items["RI-13"].links] == ["churn/v4"]
    # nothing else moved, and the free-text reference touched nothing
    untouched = [i for i in items.values() if i.id not in {"RI-2", "RI-10", "RI-12", "RI-13", "RI-19", "RI-20"}]
    assert all(i.stage in (ItemStage.IDEA, ItemStage.EXPLORING) and not i.links for i in untouched)


def _sprint_twin(day: date) -> date:
    """Brute force: walk sprint by sprint from the configured start."""
    start = SPRINT_START
    while start + timedelta(days=SPRINT_DAYS) <= day:
        start += timedelta(days=SPRINT_DAYS)
    return start


def test_the_radar_groups_open_items_by_sprint_with_their_effort(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    _build(board, make_model)
    radar = board.radar(weeks=6, today=TODAY)
    items = board.items()
    until = TODAY + timedelta(weeks=6)
    expected: dict[date, list[str]] = {}
    for i in items:
        if i.is_open and i.expected_drop is not None and TODAY <= i.expected_drop <= until:
            expected.setdefault(_sprint_twin(i.expected_drop), []).append(i.id)
    got = {s.start: [e.item.id for e in s.entries] for s in radar.sprints}
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}
    assert [s.start for s in radar.sprints] == sorted(expected)
    assert radar.sprints[0].start == date(2026, 11, 23) and radar.sprints[0].end == date(2026, 12, 6)
    assert all((s.end - s.start).days == 13 for s in radar.sprints)
    assert sorted(e.item.id for e in radar.overdue) == ["RI-1", "RI-11"]
    assert "RI-19" not in str(radar.to_dict()) and "RI-10" not in str(radar.to_dict())  # dropped
    entry = next(e for s in radar.sprints for e in s.entries if e.item.id == "RI-13")
    (effort,) = entry.effort
    assert effort.contract_differences == ["contract.outputs: no label column"]
    assert effort.budget_failures == ["latency_p99_ms: 61 ms > 50 ms"]
    assert (effort.verdict, effort.saving) == ("HOLD", Saving(12500.0, 2000.0, 24000.0, 0.95))
    assert str(effort.saving) == "12,500 [2,000, 24,000]"
    assert effort.summary == "churn/v4 (candidate), check failed, 1 contract difference, 1 budget failure, gate HOLD"
    # another sprint calendar regroups the same items
    weekly = board.radar(weeks=6, today=TODAY, sprint_length_days=7, sprint_start="2026-11-23")
    assert sum(len(s.entries) for s in weekly.sprints) == sum(len(v) for v in expected.values())
    assert all(
        e.item.expected_drop and s.start <= e.item.expected_drop <= s.end for s in weekly.sprints for e in s.entries
    )


def test_portfolio_shares_per_owner_and_team_against_the_policy(board: Board, make_model) -> None:  # type: ignore[no-untyped-def]
    _build(board, make_model)
    portfolio = board.portfolio()
    open_items = [i for i in board.items() if i.is_open]
    for row in portfolio.rows:
        mine = [
            i for i in open_items if row.group == "all" or (i.owner if row.group == "owner" else i.team) == row.name
        ]
        risky = sum(i.risk == Risk.RISKY for i in mine)
        assert (row.items, row.risky) == (len(mine), risky)
        assert row.share == risky / len(mine)
        expected = "too safe" if row.share < 0.2 else "too risky" if row.share > 0.4 else "ok"
        assert row.status == expected
    by_name = {(r.group, r.name): r for r in portfolio.rows}
    assert by_name[("owner", "bob@retention")].status == "too safe"  # 0 of 4 open risky
    assert by_name[("owner", "carol@research")].status == "too risky"  # 4 of 5
    assert by_name[("team", "retention")].share == 0.0  # its one risky item, RI-2, has shipped
    assert any(
        "owner bob@retention: 0 of 4 open items risky (0%), below the policy 20%–40%" in w for w in portfolio.warnings
    )
    relaxed = board.portfolio(board.settings.model_copy(update={"risky_min": 0.0, "risky_max": 1.0}))
    assert relaxed.warnings == []
