"""The model server's tables: the prediction log and the append-only traffic splits, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from modelyard.store import Store
from modelyard.store._engine import _alembic_config, write_transaction
from modelyard.store._schema import metadata
from modelyard.store._schema_predictions import PREDICTION_COLUMNS, predictions, traffic_splits

NOW = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def _columns(n: int, use_case: str = "churn", start: datetime = NOW) -> dict[str, list[object]]:
    return {
        "request_id": [f"r{i}" for i in range(n)],
        "row": [0] * n,
        "use_case": [use_case] * n,
        "version": [1] * n,
        "role": ["production"] * n,
        "at": [start + timedelta(seconds=i) for i in range(n)],
        "inputs": [json.dumps({"customer_id": f"C{i}", "tenure": i, "note": "é \\ \t"}) for i in range(n)],
        "score": [i / n for i in range(n)],
        "decision": [i % 2 == 0 for i in range(n)],
        "latency_ms": [1.5] * n,
    }


def test_predictions_round_trip_column_by_column(store_url: str) -> None:
    store = Store(store_url)
    with store.writing() as conn:
        Store.save_use_case(conn, "churn", "a" * 64, "name: churn", NOW)
        assert Store.insert_predictions(conn, _columns(0)) == 0
        # written out of time order: reads come back oldest first
        assert Store.insert_predictions(conn, _columns(3, start=NOW + timedelta(hours=1))) == 3
        assert Store.insert_predictions(conn, _columns(5)) == 5
        assert Store.insert_predictions(conn, _columns(2, use_case="fraud")) == 2
    with store.reading() as conn:
        churn = Store.read_predictions(conn, "churn")
        everything = Store.read_predictions(conn)
        nothing = Store.read_predictions(conn, "nobody")
    store.close()
    assert set(churn) == set(PREDICTION_COLUMNS) and len(churn["request_id"]) == 8 and len(everything["at"]) == 10
    assert churn["at"] == sorted(churn["at"]) and churn["at"][0] == NOW and churn["at"][0].tzinfo is not None
    expected = _columns(5)
    for name in ("request_id", "row", "version", "role", "score", "decision", "latency_ms"):
        assert churn[name][:5] == expected[name], name
    assert [json.loads(text) for text in churn["inputs"][:5]] == [json.loads(text) for text in expected["inputs"]]
    assert nothing == {name: [] for name in PREDICTION_COLUMNS}


def test_traffic_splits_newest_row_wins_and_the_trail_is_append_only(store_url: str) -> None:
    store = Store(store_url)
    with store.writing() as conn:
        Store.save_use_case(conn, "churn", "a" * 64, "name: churn", NOW)
        Store.save_use_case(conn, "fraud", "b" * 64, "name: fraud", NOW)
        for use_case, fraction, actor in (("churn", 0.1, "ana"), ("fraud", 0.5, "bo"), ("churn", 0.25, "cy")):
            Store.append_traffic_split(
                conn,
                {
                    "use_case": use_case,
                    "canary_fraction": fraction,
                    "canary_version": 2,
                    "actor": actor,
                    "reason": "why",
                    "at": NOW,
                },
            )
    with store.reading() as conn:
        current = Store.current_traffic_splits(conn)
        history = Store.list_traffic_splits(conn, "churn")
    assert [(s["use_case"], s["canary_fraction"], s["actor"]) for s in current] == [
        ("churn", 0.25, "cy"),
        ("fraud", 0.5, "bo"),
    ]
    assert [s["canary_fraction"] for s in history] == [0.1, 0.25] and history[0]["at"] == NOW
    for statement in ("UPDATE traffic_splits SET canary_fraction = 1", "DELETE FROM traffic_splits"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.writing() as conn:
            conn.execute(sa.text(statement))
    store.close()


def test_migration_0005_goes_down_and_up_again(store_url: str) -> None:
    store = Store(store_url)
    with write_transaction(store.engine) as conn:
        command.downgrade(_alembic_config(conn), "0004_snapshots")
    with store.reading() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert predictions.name not in tables and traffic_splits.name not in tables
    store.close()
    store = Store(store_url)  # opening migrates to the head again
    with store.reading() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []
