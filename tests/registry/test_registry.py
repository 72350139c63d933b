from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from modelyard import (
    ArtifactIntegrityError,
    DuplicateRegistrationError,
    IllegalStageChangeError,
    NotFoundError,
    Stage,
    UntrustedArtifactError,
    UsageError,
    Yard,
)
from modelyard.registry import data_hash


def _stages(yard: Yard) -> dict[int, str]:
    return {v.version: v.stage.value for v in yard.models("churn")}


def test_register_records_full_lineage(yard: Yard, baseline_model: object, churn_frame: tuple, tmp_path: Path) -> None:
    x, _ = churn_frame
    subprocess.run(["git", "init", "-q", str(tmp_path / "code")], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "init"],
        cwd=tmp_path / "code",
        check=True,
    )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path / "code", capture_output=True, text=True
    ).stdout.strip()
    mv = yard.register(
        "churn",
        baseline_model,
        training_data=x,
        research_item="RI-7",
        tags={"team": "retention"},
        author="alice",
        description="baseline",
        code_folder=tmp_path / "code",
    )
    assert (mv.use_case, mv.version, mv.stage) == ("churn", 1, Stage.CANDIDATE)
    assert mv.flavor == "sklearn" and mv.format == "skops"
    assert mv.training_data_hash == data_hash(x)
    assert mv.git_commit == commit and mv.git_dirty is False
    assert mv.author == "alice" and mv.research_item == "RI-7" and mv.tags == {"team": "retention"}
    assert mv.params["memory"] is None and "steps" in mv.params
    assert [c["name"] for c in mv.signature["inputs"]] == list(x.columns)
    assert mv.spec_sha256 == yard.use_case("churn").sha256
    assert yard.history("churn")[0].reason == "registered"


def test_a_loaded_version_scores_like_the_original(yard: Yard, baseline_model, churn_frame) -> None:
    x, _ = churn_frame
    yard.register("churn", baseline_model)
    loaded = yard.load("churn", 1)
    np.testing.assert_array_equal(loaded.score(x), baseline_model.predict_proba(x)[:, 1])


def test_registering_the_same_model_twice_is_refused_and_changes_nothing(yard: Yard, baseline_model) -> None:
    yard.register("churn", baseline_model)
    with pytest.raises(DuplicateRegistrationError, match=r"already registered as churn/v1 .*nothing was added"):
        yard.register("churn", baseline_model)
    assert _stages(yard) == {1: "candidate"}


def test_an_unknown_use_case_lists_the_known_ones(yard: Yard, baseline_model) -> None:
    with pytest.raises(NotFoundError, match="churn"):
        yard.register("chrun", baseline_model)


def test_promotion_archives_the_old_production_in_the_same_step(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5, 0.1):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    changes = yard.registry.promote("churn", 2, reason="cheaper")
    assert [(c.version, c.from_stage, c.to_stage) for c in changes] == [
        (1, Stage.PRODUCTION, Stage.ARCHIVED),
        (2, Stage.CANDIDATE, Stage.PRODUCTION),
    ]
    assert changes[1].replaced_version == 1
    assert _stages(yard) == {1: "archived", 2: "production", 3: "candidate"}
    assert yard.model("churn", "production").version == 2


def test_rollback_brings_back_the_replaced_version(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    yard.registry.promote("churn", 2, reason="second")
    changes = yard.rollback("churn", reason="v2 over-contacts loyal customers")
    assert [(c.version, c.to_stage) for c in changes] == [(2, Stage.ARCHIVED), (1, Stage.PRODUCTION)]
    assert _stages(yard) == {1: "production", 2: "archived"}


def test_a_second_rollback_does_not_bring_back_the_version_rolled_back_from(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    yard.registry.promote("churn", 2, reason="second")
    yard.rollback("churn", reason="v2 is bad")
    with pytest.raises(IllegalStageChangeError, match=r"churn/v1 came back by a rollback from v2; rolling back again"):
        yard.rollback("churn", reason="a retried CI step")
    assert _stages(yard) == {1: "production", 2: "archived"}
    yard.registry.promote("churn", 2, reason="fixed upstream, on purpose")  # a promotion still may
    assert _stages(yard) == {1: "archived", 2: "production"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "ok\x00"}, r"The reason holds the control character '\\x00' at position 2; write plain text"),
        ({"reason": "ok \x1b[2J"}, r"The reason holds the control character '\\x1b' at position 3"),
        ({"reason": "x" * 2001}, r"The reason is 2,001 characters long; keep it to 2,000"),
        ({"reason": "ok", "actor": "bob\x00root"}, r"The actor holds the control character '\\x00'"),
    ],
)
def test_audit_text_is_plain_and_bounded(yard: Yard, make_model, kwargs: dict[str, str], message: str) -> None:
    yard.register("churn", make_model(1.0))
    with pytest.raises(UsageError, match=message):
        yard.transition("churn", 1, "shadow", **kwargs)
    yard.transition("churn", 1, "shadow", reason="a reason\nover two lines\twith a tab")
    assert yard.history("churn")[-1].reason == "a reason\nover two lines\twith a tab"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": "d\x1b[2J"}, r"^The description holds the control character '\\x1b' at position 1"),
        ({"description": "d" * 2001}, r"^The description is 2,001 characters long; keep it to 2,000"),
        ({"tags": {"k": "v\x1b"}}, r"^The value of tag 'k' holds the control character '\\x1b' at position 1"),
        ({"tags": {"k\x07": "v"}}, r"^The tag name holds the control character '\\x07' at position 1"),
        ({"tags": {" ": "v"}}, r"^A tag needs a name; got an empty one for the value 'v'"),
        ({"tags": ["k=v"]}, r"^The 'tags' parameter must be a mapping of names to values"),
        ({"research_item": "RI-1\x1b]0;t\x07"}, r"^The research_item holds the control character '\\x1b'"),
        ({"research_item": 7}, r"^The 'research_item' parameter must be text \(str\)"),
    ],
)
def test_a_version_s_own_text_is_plain_and_bounded_too(yard: Yard, make_model, kwargs: dict, message: str) -> None:
    """Description, tags and research reference are printed by 'models show' as the audit text is."""
    with pytest.raises(UsageError, match=message):
        yard.register("churn", make_model(1.0), **kwargs)
    assert yard.models("churn") == []


def test_a_board_id_is_stored_in_its_one_spelling_and_other_references_as_written(yard: Yard, make_model) -> None:
    """'ri-7' used to be stored as typed, so an item RI-7 added later never found its version."""
    refs = {"ri-7": "RI-7", " RI-07 ": "RI-7", "RI7": "RI-7", "JIRA-123": "JIRA-123", "RI-\u0663": "RI-\u0663"}
    for c, (given, stored) in zip((1.0, 0.5, 0.25, 0.125, 0.0625), refs.items(), strict=True):
        assert yard.register("churn", make_model(c), research_item=given).research_item == stored


def test_a_version_in_unicode_digits_is_not_a_version(yard: Yard, make_model) -> None:
    yard.register("churn", make_model(1.0))
    for text in ("²", "١", "v²"):
        with pytest.raises(UsageError, match="is not a version; use a number"):
            yard.model("churn", text)


def test_rollback_can_retire_the_bad_version_for_good(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    yard.registry.promote("churn", 2, reason="second")
    yard.rollback("churn", reason="leaks a feature", retire=True)
    assert _stages(yard) == {1: "production", 2: "retired"}
    with pytest.raises(IllegalStageChangeError, match=r"churn/v2 is retired, which is final"):
        yard.registry.promote("churn", 2, reason="try again")


def test_rollback_without_an_earlier_production_says_what_to_do(yard: Yard, make_model) -> None:
    yard.register("churn", make_model(1.0))
    with pytest.raises(IllegalStageChangeError, match="has no production version; nothing to roll back"):
        yard.rollback("churn", reason="oops")
    yard.registry.promote("churn", 1, reason="first")
    with pytest.raises(IllegalStageChangeError, match=r"replaced no earlier production version.*modelyard promote"):
        yard.rollback("churn", reason="oops")


@pytest.mark.parametrize(
    ("setup", "target", "message"),
    [
        ([], "archived", "cannot be archived from candidate"),
        ([("production", "p")], "candidate", "is in production and leaves it only when replaced"),
        ([("retired", "r")], "production", "is retired, which is final"),
        ([("shadow", "s")], "shadow", "is already in stage shadow"),
        (
            [],
            "live",
            "'live' is not a stage; use one of candidate, shadow, canary, production, archived, retired",
        ),
    ],
)
def test_illegal_stage_changes_are_refused_and_change_nothing(yard: Yard, make_model, setup, target, message) -> None:
    yard.register("churn", make_model(1.0))
    for stage, reason in setup:
        yard.registry.transition("churn", 1, stage, reason=reason)
    before = (_stages(yard), len(yard.history("churn")))
    with pytest.raises(UsageError, match=message):
        yard.registry.transition("churn", 1, target, reason="try")
    assert (_stages(yard), len(yard.history("churn"))) == before


def test_only_one_canary_at_a_time(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.transition("churn", 1, "canary", reason="10% of traffic")
    with pytest.raises(
        IllegalStageChangeError,
        match=r"churn/v1 is already the canary of churn; move it to shadow or candidate first",
    ):
        yard.registry.transition("churn", 2, "canary", reason="also")


def test_a_stage_change_needs_a_reason(yard: Yard, make_model) -> None:
    yard.register("churn", make_model(1.0))
    with pytest.raises(UsageError, match="needs a reason"):
        yard.registry.promote("churn", 1, reason="  ")


def test_history_is_the_whole_trail_with_who_and_why(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first", actor="bob")
    yard.registry.promote("churn", 2, reason="better", actor="carol")
    trail = yard.history("churn")
    assert [(c.version, c.from_stage and c.from_stage.value, c.to_stage.value, c.actor) for c in trail] == [
        (1, None, "candidate", "tester"),
        (2, None, "candidate", "tester"),
        (1, "candidate", "production", "bob"),
        (1, "production", "archived", "carol"),
        (2, "candidate", "production", "carol"),
    ]
    assert trail[3].reason == "replaced by v2: better"
    assert [c.version for c in yard.history("churn", 2)] == [2, 2]


def test_version_references(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", "v1", reason="first")
    assert yard.model("churn", "latest").version == 2
    assert yard.model("churn", "production").version == 1
    assert yard.model("churn", "2").version == 2
    with pytest.raises(NotFoundError, match="churn has no version 9; it has v1, v2"):
        yard.model("churn", 9)
    with pytest.raises(NotFoundError, match="no version in stage canary"):
        yard.model("churn", "canary")
    with pytest.raises(UsageError, match="'best' is not a version"):
        yard.model("churn", "best")


def test_a_stage_holding_several_versions_is_not_a_reference(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5, 0.25):
        yard.register("churn", make_model(c))
    yard.registry.transition("churn", 1, Stage.SHADOW, reason="watch it")
    assert yard.model("churn", "shadow").version == 1
    yard.registry.transition("churn", 3, Stage.SHADOW, reason="watch it too")
    with pytest.raises(UsageError, match=r"churn has 2 versions in stage shadow \(v1, v3\); name one by number"):
        yard.model("churn", "shadow")


def test_the_python_api_takes_a_use_case_object_and_names_bad_arguments(yard: Yard, make_model, churn_frame) -> None:
    spec = yard.use_case("churn")
    mv = yard.register(spec, make_model(1.0))
    assert yard.model(spec, mv.version) == mv and yard.models(spec) == [mv]
    assert [c.version for c in yard.history(spec)] == [1]
    yard.promote(spec, 1, reason="first")
    assert len(yard.load(spec).score(churn_frame[0].head(3))) == 3
    with pytest.raises(
        UsageError, match=r"The 'use_case' parameter must be a use-case name \(str\) or a UseCase\. Got None"
    ):
        yard.model(None, 1)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'use_case' parameter .* Got 42 instead\."):
        yard.register(42, make_model(0.5))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'ref' parameter must be a version number .* Got 1\.5 instead\."):
        yard.model("churn", 1.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'stage' parameter must be a stage name .* Got None instead\."):
        yard.transition("churn", 1, None, reason="x")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'reason' parameter must be text \(str\)\. Got 42 instead\."):
        yard.transition("churn", 1, "archived", reason=42)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"The 'training_data' parameter must be a pandas DataFrame .* Got ndarray"):
        yard.register("churn", make_model(0.5), training_data=np.zeros((3, 2)))
    with pytest.raises(UsageError, match=r"The 'tags' parameter must be a mapping .* Got \['a'\] instead\."):
        yard.register("churn", make_model(0.5), tags=["a"])
    assert [v.version for v in yard.models("churn")] == [1]  # nothing half-registered


def test_a_model_file_and_its_snapshot_register_as_on_the_command_line(
    yard: Yard, make_model, churn_frame, tmp_path: Path
) -> None:
    import skops.io

    skops.io.dump(make_model(1.0), tmp_path / "model.skops")
    churn_frame[0].to_parquet(tmp_path / "train.parquet")
    mv = yard.register("churn", tmp_path / "model.skops", training_data=str(tmp_path / "train.parquet"))
    assert mv.flavor == "sklearn" and mv.training_data_hash == data_hash(churn_frame[0])
    with pytest.raises(NotFoundError, match=r"No snapshot 'abcdef12'"):
        yard.register("churn", make_model(0.5), snapshot_id="abcdef12")
    with pytest.raises(NotFoundError, match=r"Model file .*nothing.skops does not exist"):
        yard.register("churn", str(tmp_path / "nothing.skops"))


def test_a_misspelt_setting_is_refused(yard_root: Path) -> None:
    from modelyard import open_yard

    with pytest.raises(UsageError, match=r"'databse_url' is not a setting; did you mean 'database_url'\?"):
        open_yard(yard_root, databse_url="postgresql://nowhere/db")


def test_a_tampered_artifact_is_refused_at_load(yard: Yard, baseline_model) -> None:
    mv = yard.register("churn", baseline_model)
    Path(mv.artifact_uri).write_bytes(b"PK-not-the-model")
    with pytest.raises(ArtifactIntegrityError, match="tampered"):
        yard.load("churn", mv.version)


def test_a_pickle_needs_trust_at_save_and_at_load(yard: Yard, baseline_model, churn_frame) -> None:
    with pytest.raises(UntrustedArtifactError):
        yard.register("churn", baseline_model, serialization="pickle")
    assert yard.models("churn") == []
    mv = yard.register("churn", baseline_model, serialization="pickle", trust=True)
    assert mv.format == "pickle"
    with pytest.raises(UntrustedArtifactError, match="trust"):
        yard.load("churn", mv.version)
    x, _ = churn_frame
    np.testing.assert_array_equal(
        yard.load("churn", mv.version, trust=True).score(x.head(5)),
        baseline_model.predict_proba(x.head(5))[:, 1],
    )


def test_the_threshold_must_be_a_probability(yard: Yard, baseline_model) -> None:
    with pytest.raises(UsageError, match=r"The 'threshold' parameter must be in \[0, 1\]. Got 1.7 instead."):
        yard.register("churn", baseline_model, threshold=1.7)


def test_use_case_summaries(yard: Yard, make_model) -> None:
    for c in (1.0, 0.5, 0.1):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    yard.registry.transition("churn", 2, "canary", reason="try")
    yard.registry.transition("churn", 3, "shadow", reason="watch")
    (summary,) = yard.use_cases()
    assert (summary.name, summary.versions, summary.production, summary.canary, summary.shadows) == (
        "churn",
        3,
        1,
        2,
        (3,),
    )


class _Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def on_registered(self, conn, version) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(f"registered v{version.version}")
        if self.fail_on == "register":
            raise RuntimeError("listener refused")

    def on_stage_changes(self, conn, changes) -> None:  # type: ignore[no-untyped-def]
        self.seen.extend(f"v{c.version}->{c.to_stage.value}" for c in changes)
        if self.fail_on == "stage":
            raise RuntimeError("listener refused")


def test_listeners_hear_every_change_inside_the_transaction(yard: Yard, make_model) -> None:
    recorder = _Recorder()
    yard.registry.listeners.append(recorder)
    for c in (1.0, 0.5):
        yard.register("churn", make_model(c))
    yard.registry.promote("churn", 1, reason="first")
    yard.registry.promote("churn", 2, reason="second")
    assert recorder.seen == ["registered v1", "registered v2", "v1->production", "v1->archived", "v2->production"]


def test_a_failing_listener_rolls_the_whole_change_back(yard: Yard, make_model) -> None:
    yard.register("churn", make_model(1.0))
    yard.registry.listeners.append(_Recorder(fail_on="stage"))
    with pytest.raises(RuntimeError, match="listener refused"):
        yard.registry.promote("churn", 1, reason="first")
    assert _stages(yard) == {1: "candidate"} and len(yard.history("churn")) == 1
    yard.registry.listeners[:] = [_Recorder(fail_on="register")]
    with pytest.raises(RuntimeError, match="listener refused"):
        yard.register("churn", make_model(0.5))
    assert _stages(yard) == {1: "candidate"}


def test_a_broken_spec_is_listed_not_fatal(yard: Yard) -> None:
    (yard.usecases_folder / "fraud.yaml").write_text("name: fraud\ntask: binary_classification\n")
    summaries = {s.name: s for s in yard.use_cases()}
    assert summaries["churn"].task == "binary_classification"
    assert summaries["fraud"].task is None
    assert "invalid spec" in (summaries["fraud"].description or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"author": "a" * 129}, r"^The author is 129 characters long; keep it to 128"),
        ({"research_item": "r" * 65}, r"^The research_item is 65 characters long; keep it to 64"),
    ],
)
def test_names_fit_their_columns_in_postgresql_too(yard: Yard, make_model, kwargs: dict, message: str) -> None:
    """A 200-character author passed the old limit and then failed in PostgreSQL's VARCHAR(128)."""
    with pytest.raises(UsageError, match=message):
        yard.register("churn", make_model(1.0), **kwargs)
    yard.register("churn", make_model(1.0), author="a" * 128, research_item="r" * 64)
