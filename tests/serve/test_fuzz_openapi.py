"""schemathesis fuzzes every operation of the server's OpenAPI spec on a real loopback server: no 5xx, and
every answer (status, content type, headers, body) as the spec documents it."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from modelyard.serve import ServeSettings, create_app

from .conftest import LiveServer

ADMIN = {"authorization": "Bearer s3cret"}
# Operations whose documented responses (status codes, content types, headers, schemas) match what they
# send, so they get every schemathesis check: all of them. A new route documents its answers in
# ``modelyard.serve._openapi`` and joins this list; the test fails until it does.
CONFORMING = {
    "POST /predict/{use_case}",
    "GET /models",
    "POST /invocations",
    "GET /ping",
    "GET /health",
    "GET /version",
    "GET /v2",
    "GET /v2/health/live",
    "GET /v2/health/ready",
    "GET /v2/models/{name}",
    "GET /v2/models/{name}/versions/{version}",
    "GET /v2/models/{name}/ready",
    "GET /v2/models/{name}/versions/{version}/ready",
    "POST /v2/models/{name}/infer",
    "POST /v2/models/{name}/versions/{version}/infer",
    "GET /metrics",
    "POST /admin/reload",
    "GET /admin/traffic",
    "PUT /admin/traffic/{use_case}",
}
# One check is off for the scoring routes: positive_data_acceptance ("a body the schema allows is accepted").
# Their request schemas can only say "JSON records" or "an inference request": whether a row is acceptable
# depends on the use case's spec (its fields, types and ranges), which the OpenAPI document does not carry,
# so a schema-valid body of made-up fields is rightly answered 400.
SCORING = {
    "POST /predict/{use_case}",
    "POST /invocations",
    "POST /v2/models/{name}/infer",
    "POST /v2/models/{name}/versions/{version}/infer",
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, make_model: Any) -> Iterator[LiveServer]:
    """churn v1 in production, v2 in canary, v3 in shadow: every route has something to answer."""
    from modelyard import Settings, Yard

    root = tmp_path_factory.mktemp("fuzz")
    (root / "usecases").mkdir()
    spec = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
    (root / "usecases" / "churn.yaml").write_text(spec, encoding="utf-8")
    with Yard(Settings(root=root, database_url=f"sqlite:///{root / 'registry.db'}", author="fuzz")) as yard:
        for c, stage in ((1.0, "production"), (0.3, "canary"), (3.0, "shadow")):
            version = yard.register("churn", make_model(c)).version
            yard.transition("churn", version, stage, reason="fuzz", force=True, why="a test")
        app_settings = ServeSettings(
            log_folder=root / "predictions", admin_token="s3cret", gc_freeze=False, poll_seconds=0.5
        )
        with LiveServer(create_app(yard, settings=app_settings)) as live:
            yield live


# schemathesis' own ``schema.parametrize()`` over a fixture (``from_fixture``) breaks on pytest 9
# (it reads ``request.node._nodeid``), so each operation's strategy runs under our own ``@given``.
def test_every_operation_answers_as_documented_and_never_a_server_error(fuzzed: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} == CONFORMING, "list a new route in CONFORMING"
    for operation in operations:

        @given(case=st.one_of(operation.as_strategy(mode) for mode in GenerationMode))
        @settings(
            max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case: Any) -> None:
            excluded = [positive_data_acceptance] if case.operation.label in SCORING else None
            case.call_and_validate(headers=ADMIN, excluded_checks=excluded, timeout=30)

        try:
            fuzz()
        except Exception as exc:
            exc.add_note(f"operation: {operation.label}")
            raise
