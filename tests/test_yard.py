"""The Yard's promotion policy: into production only with a passing evaluation, or forced and audited."""

from __future__ import annotations

import pytest

from modelyard import Stage, UsageError, Yard
from modelyard.evaluate import PROMOTE, cost_model_sha256
from modelyard.store import Store, utcnow


def _store_evaluation(yard: Yard, challenger: int, champion: int | None, verdict: str) -> str:
    with yard.store.writing() as conn:
        record = Store.save_evaluation(
            conn,
            {
                "use_case": "churn",
                "challenger_version": challenger,
                "champion_version": champion,
                "verdict": verdict,
                "schema_version": "1",
                "result": {},
                "cost_model_sha256": cost_model_sha256(yard.use_case("churn")),
                "created_at": utcnow(),
            },
        )
    return record.id


@pytest.fixture
def two_versions(yard: Yard, make_model) -> Yard:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.promote("churn", 1, reason="first: nothing to beat yet")
    return yard


def test_the_first_production_version_needs_no_evaluation(two_versions: Yard) -> None:
    assert two_versions.model("churn", "production").version == 1


def test_replacing_production_needs_a_passing_evaluation(two_versions: Yard) -> None:
    yard = two_versions
    with pytest.raises(UsageError, match=r"churn/v2 has no passing evaluation against the production version v1"):
        yard.promote("churn", 2, reason="looks better")
    _store_evaluation(yard, 2, 1, "HOLD")
    with pytest.raises(UsageError, match=r"its latest evaluation ev_\w+ says HOLD"):
        yard.transition("churn", 2, "production", reason="looks better")
    assert yard.model("churn", "production").version == 1
    evaluation = _store_evaluation(yard, 2, 1, PROMOTE)
    changes = yard.promote("churn", 2, reason="cheaper per 1,000 decisions")
    assert changes[-1].evaluation_id == evaluation and changes[-1].to_stage == Stage.PRODUCTION


def test_an_evaluation_against_another_champion_does_not_count(two_versions: Yard) -> None:
    _store_evaluation(two_versions, 2, None, PROMOTE)
    with pytest.raises(UsageError, match="no passing evaluation"):
        two_versions.promote("churn", 2, reason="evaluated against nothing")


def test_forcing_needs_a_why_and_is_audited(two_versions: Yard) -> None:
    yard = two_versions
    with pytest.raises(
        UsageError, match=r'needs a reason for skipping the evaluation: why="\.\.\." \(on the command line, --why'
    ):
        yard.promote("churn", 2, reason="urgent", force=True)
    yard.promote("churn", 2, reason="urgent", force=True, why="v1 breaks on the new tariff codes")
    last = yard.history("churn")[-1]
    assert last.version == 2 and last.to_stage == Stage.PRODUCTION
    assert last.reason == "urgent [forced without a passing evaluation: v1 breaks on the new tariff codes]"


def test_a_forced_promotion_still_needs_a_reason_and_each_text_is_checked_as_itself(two_versions: Yard) -> None:
    """--force --why skipped the reason every other stage change needs, and a bad why was blamed on
    the reason (or on the two joined)."""
    yard = two_versions
    with pytest.raises(UsageError, match=r'^A stage change needs a reason \(--reason "\.\.\."\)'):
        yard.promote("churn", 2, reason="", force=True, why="trial")
    with pytest.raises(UsageError, match=r"^The why \(--why\) holds the control character '\\x1b' at position 2"):
        yard.promote("churn", 2, reason="urgent", force=True, why="ok\x1b[2J")
    with pytest.raises(
        UsageError,
        match=r"^The reason \(1,990 characters\) and the why \(50\) make an audit entry of 2,080 characters; "
        r"keep them to 1,960 together",
    ):
        yard.promote("churn", 2, reason="r" * 1990, force=True, why="w" * 50)
    assert yard.model("churn", "production").version == 1 and len(yard.history("churn")) == 3


def test_a_version_that_cannot_move_is_told_so_before_any_evaluation(two_versions: Yard) -> None:
    """Promoting a retired version, or the production one, used to ask for an evaluation first; the
    advice (evaluate, or --force) could never work."""
    yard = two_versions
    with pytest.raises(UsageError, match=r"^churn/v1 is already in stage production; nothing to change"):
        yard.promote("churn", 1, reason="again")
    yard.transition("churn", 2, "retired", reason="superseded")
    for force in (False, True):
        with pytest.raises(UsageError, match=r"^churn/v2 is retired, which is final") as caught:
            yard.promote("churn", 2, reason="bring it back", force=force, why="urgent")
        assert "evaluat" not in str(caught.value)


def test_the_audit_trail_names_who_registered_not_who_made_the_model(two_versions: Yard, make_model) -> None:
    mv = two_versions.register("churn", make_model(0.25), author="alice@research")
    assert mv.author == "alice@research"
    assert two_versions.history("churn", mv.version)[-1].actor == "tester"
    on_behalf = two_versions.register("churn", make_model(0.125), author="alice@research", actor="alice@research")
    assert two_versions.history("churn", on_behalf.version)[-1].actor == "alice@research"


def test_open_yard_refuses_a_root_that_is_not_a_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from modelyard import open_yard

    with pytest.raises(UsageError, match=r"The 'root' parameter must be an existing folder\. Got '.*typo' instead\."):
        open_yard(tmp_path / "typo")
    with pytest.raises(UsageError, match=r"must be a folder path \(str or Path\)\. Got 3 instead\."):
        open_yard(3)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_promotion_racing_another_is_refused_once_the_use_case_is_locked(
    two_versions: Yard, make_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelyard import IllegalStageChangeError

    yard = two_versions
    yard.register("churn", make_model(0.25))
    _store_evaluation(yard, 2, 1, PROMOTE)  # v2 beat v1 ...
    real = yard.registry.transition

    def after_another_promotion(*args, **kwargs):  # type: ignore[no-untyped-def]
        real("churn", 3, "production", reason="someone else, a moment earlier")  # ... but v3 replaced v1 meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(yard.registry, "transition", after_another_promotion)
    with pytest.raises(IllegalStageChangeError, match=r"production version changed while churn/v2 was being promoted"):
        yard.promote("churn", 2, reason="beat v1")
    monkeypatch.undo()
    assert yard.model("churn", "production").version == 3 and yard.model("churn", 2).stage == Stage.CANDIDATE
