"""The prediction log's entries: what the hot path keeps until the writer takes it."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import numpy as np
import orjson

from modelyard.serve._log import LOG_SCHEMA, LogEntry, encode_inputs, log_columns, log_table


def _entry(columns: dict, n: int) -> LogEntry:
    scores = np.linspace(0.1, 0.9, n)
    return LogEntry(
        "r1", "churn", 3, "production", 1_767_000_000.0, encode_inputs(columns, n), scores, scores >= 0.5, 2.5
    )


def test_a_waiting_entry_is_one_object_for_the_garbage_collector() -> None:
    columns = {f"field_{k}": [f"value {i}" if k % 2 else i for i in range(100)] for k in range(20)}
    entry = _entry(columns, 100)

    held = [x for x in gc.get_referents(entry) if x is not LogEntry]
    assert not hasattr(entry, "__dict__")
    assert len(held) == 9  # its fields
    assert [type(x).__name__ for x in held if gc.is_tracked(x)] == []


def test_each_row_is_logged_with_its_own_inputs() -> None:
    columns = {
        "customer_id": ["C1", "C2", None],
        "tenure": np.array([1, 2, 3]),
        "charges": [np.float64(1.5), float("nan"), 3.25],
        "flag": [True, False, np.bool_(True)],
    }
    cols = log_columns([_entry(columns, 3)])

    assert [orjson.loads(x) for x in cols["inputs"]] == [
        {"customer_id": "C1", "tenure": 1, "charges": 1.5, "flag": True},
        {"customer_id": "C2", "tenure": 2, "charges": None, "flag": False},
        {"customer_id": None, "tenure": 3, "charges": 3.25, "flag": True},
    ]
    assert cols["row"] == [0, 1, 2]
    assert cols["score"] == [0.1, 0.5, 0.9]
    assert cols["decision"] == [False, True, True]


def test_values_json_cannot_hold_natively_are_still_logged() -> None:
    columns = {"big": [2**70], "count": [np.int64(3)], "when": [np.datetime64("2024-12-31")], "odd": [object]}
    (row,) = log_columns([_entry(columns, 1)])["inputs"]

    logged = orjson.loads(row)
    assert logged["big"] == float(2**70)  # past 64 bits: kept as a number, with a float's precision
    assert logged["count"] == 3
    assert logged["when"] == "2024-12-31"
    assert logged["odd"] == "<class 'object'>"


def test_a_batch_of_requests_becomes_one_row_per_scored_row() -> None:
    one = LogEntry(
        "a",
        "churn",
        1,
        "production",
        1_767_000_000.25,
        encode_inputs({"x": [1]}, 1),
        np.array([0.2]),
        np.array([False]),
        1.0,
    )
    three = LogEntry(
        "b",
        "churn",
        2,
        "shadow",
        1_767_000_001.5,
        encode_inputs({"x": [2, 3, 4]}, 3),
        np.array([0.6, 0.7, 0.8]),
        np.array([True] * 3),
        3.0,
    )
    table = log_table([one, three, one])

    assert table.schema == LOG_SCHEMA
    cols = table.to_pydict()
    assert cols["request_id"] == ["a", "b", "b", "b", "a"]
    assert cols["row"] == [0, 0, 1, 2, 0]
    assert cols["version"] == [1, 2, 2, 2, 1]
    assert cols["role"] == ["production", "shadow", "shadow", "shadow", "production"]
    assert [orjson.loads(x)["x"] for x in cols["inputs"]] == [1, 2, 3, 4, 1]
    assert cols["latency_ms"] == [1.0, 3.0, 3.0, 3.0, 1.0]
    assert [t.timestamp() for t in cols["at"]] == [
        1_767_000_000.25,
        1_767_000_001.5,
        1_767_000_001.5,
        1_767_000_001.5,
        1_767_000_000.25,
    ]
    assert log_table([]).num_rows == 0


def test_times_are_rounded_to_the_microsecond_as_datetime_rounds_them() -> None:
    starts = [1_767_000_000.0000014, *np.linspace(1_767_000_000.0, 1_767_000_001.0, 2_000).tolist()]
    entries = [
        LogEntry(f"r{i}", "churn", 1, "production", at, b"{}", np.array([0.5]), np.array([True]), 1.0)
        for i, at in enumerate(starts)
    ]

    logged = log_table(entries).column("at").to_pylist()
    assert logged == [datetime.fromtimestamp(at, UTC) for at in starts]


def test_the_fallback_encoding_is_compact_valid_json() -> None:
    line = encode_inputs({"big": [2**70], "x": [float("nan")], "y": [np.float64(1.5)]}, 1)

    assert line == b'{"big":1180591620717411303424,"x":null,"y":1.5}'
