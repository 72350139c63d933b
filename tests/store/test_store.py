from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from modelyard import StoreUnavailableError
from modelyard.store import Store
from modelyard.store._engine import head_revisions
from modelyard.store._schema import metadata, model_versions, stage_changes

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _seed(store: Store) -> None:
    with store.writing() as conn:
        Store.save_use_case(conn, "churn", "a" * 64, "name: churn", NOW)
        for version, stage in ((1, "production"), (2, "candidate")):
            conn.execute(
                model_versions.insert().values(
                    use_case="churn",
                    version=version,
                    stage=stage,
                    flavor="sklearn",
                    format="skops",
                    artifact_uri="x",
                    artifact_sha256=str(version) * 64,
                    artifact_size=1,
                    flavor_metadata={},
                    signature={},
                    params={},
                    tags={},
                    spec_sha256="a" * 64,
                    author="t",
                    threshold=0.5,
                    created_at=NOW,
                )
            )
        Store.append_stage_change(
            conn,
            {
                "use_case": "churn",
                "version": 1,
                "from_stage": None,
                "to_stage": "candidate",
                "actor": "t",
                "reason": "registered",
                "at": NOW,
            },
        )


def test_opening_migrates_to_head_and_schema_matches_the_tables(store_url: str) -> None:
    store = Store(store_url)
    with store.reading() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == head_revisions()
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == [], f"migrations and _schema.py disagree: {diff}"


def test_opening_twice_is_a_no_op(store_url: str) -> None:
    Store(store_url).close()
    store = Store(store_url)
    with store.reading() as conn:
        assert Store.list_use_cases(conn) == []
    store.close()


def test_timestamps_come_back_timezone_aware_in_utc(store_url: str) -> None:
    store = Store(store_url)
    _seed(store)
    with store.reading() as conn:
        record = Store.get_use_case(conn, "churn")
        trail = Store.list_stage_changes(conn, "churn")
    store.close()
    assert record is not None and record.created_at == NOW and record.created_at.tzinfo is not None
    assert trail[0].at == NOW


def test_the_database_refuses_a_second_production_version(store_url: str) -> None:
    store = Store(store_url)
    _seed(store)
    with pytest.raises(sa.exc.IntegrityError), store.writing() as conn:
        Store.set_stage(conn, "churn", 2, __import__("modelyard").Stage.PRODUCTION)
    with store.reading() as conn:
        stages = {v.version: v.stage.value for v in Store.list_versions(conn, "churn")}
    store.close()
    assert stages == {1: "production", 2: "candidate"}


@pytest.mark.parametrize("statement", ["UPDATE stage_changes SET reason = 'edited'", "DELETE FROM stage_changes"])
def test_the_audit_trail_is_append_only(store_url: str, statement: str) -> None:
    store = Store(store_url)
    _seed(store)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.writing() as conn:
        conn.execute(sa.text(statement))
    with store.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stage_changes)).scalar() == 1
    store.close()


def test_an_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(
        StoreUnavailableError,
        match=(
            r"Cannot open the registry database postgresql://nobody:\*\*\*@127\.0\.0\.1:1/x: "
            r".*Connection refused; check MODELYARD_DATABASE_URL"
        ),
    ):
        Store("postgresql://nobody:secret@127.0.0.1:1/x")


def test_the_password_never_appears_in_errors() -> None:
    with pytest.raises(StoreUnavailableError) as info:
        Store("postgresql://nobody:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in str(info.value)


def test_a_url_that_is_not_a_url_says_so() -> None:
    with pytest.raises(StoreUnavailableError, match="is not a database URL"):
        Store("not a url at all")


def test_check_results_and_evaluations_round_trip(store_url: str) -> None:
    store = Store(store_url)
    _seed(store)
    with store.writing() as conn:
        first = Store.save_check_result(
            conn, "churn", 2, passed=False, result={"measurements": {"memory_mb": 9}}, now=NOW
        )
        later = NOW.replace(minute=30)
        second = Store.save_check_result(
            conn, "churn", 2, passed=True, result={"measurements": {"memory_mb": 7}}, now=later
        )
        ev = Store.save_evaluation(
            conn,
            {
                "use_case": "churn",
                "challenger_version": 2,
                "champion_version": 1,
                "verdict": "HOLD",
                "schema_version": "1",
                "result": {"reasons": ["x"]},
                "created_at": NOW,
            },
        )
    with store.reading() as conn:
        assert Store.latest_check_result(conn, "churn", 2) == second
        assert [c.id for c in Store.list_check_results(conn, "churn")] == [first.id, second.id]
        assert Store.latest_check_result(conn, "churn", 1) is None
        assert Store.get_evaluation(conn, ev.id) == ev
        assert Store.list_evaluations(conn, "churn", 2) == [ev]
        assert Store.list_evaluations(conn, "churn", 1) == []
    store.close()
    assert first.id.startswith("chk_") and ev.id.startswith("ev_")


def test_a_database_from_a_newer_modelyard_is_refused(sqlite_url: str) -> None:
    Store(sqlite_url).close()
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    engine.dispose()
    with pytest.raises(StoreUnavailableError, match=r"schema revision '9999_future'.*upgrade modelyard"):
        Store(sqlite_url)
