"""The public API, the settings, the metrics page, the CLI command and the request contract."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import modelyard.serve
from modelyard._exceptions import DataError
from modelyard.serve import RequestContract, Rows, ServeSettings
from modelyard.serve._validate import concat_rows

EXPORTED = {
    "AdminAuthError",
    "BadRequestError",
    "ModelService",
    "NoProductionError",
    "OverloadedError",
    "PayloadTooLargeError",
    "Prediction",
    "PredictionLog",
    "RequestContract",
    "Rows",
    "ServeSettings",
    "create_app",
    "demo_stage",
    "read_prediction_log",
    "serve",
}


def test_public_api_is_the_documented_set() -> None:
    assert set(modelyard.serve.__all__) == EXPORTED
    for name in EXPORTED:
        assert getattr(modelyard.serve, name).__doc__, name


def test_every_setting_is_documented_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, field in ServeSettings.model_fields.items():
        assert field.description, name
    monkeypatch.setenv("MODELYARD_SERVE_CANARY_FRACTION", "0.25")
    monkeypatch.setenv("MODELYARD_SERVE_ADMIN_TOKEN", "hush")
    settings = ServeSettings()
    assert settings.canary_fraction == 0.25
    assert "hush" not in repr(settings)


def test_metrics_page_has_every_family(client: httpx.Client, raw_rows: list[dict[str, Any]]) -> None:
    client.post("/predict/churn", json=raw_rows[:3])
    client.post("/predict/churn", json={"tenure": "x"})
    text = client.get("/metrics").text
    for family in (
        'modelyard_requests_total{outcome="ok",protocol="plain",role="production",use_case="churn",version="1"} 1.0',
        "modelyard_request_latency_seconds_bucket",
        'modelyard_batch_size_rows_count{role="production",use_case="churn",version="1"}',
        "modelyard_queue_depth",
        "modelyard_inline_batches_total",
        "modelyard_gc_pause_seconds",
        'modelyard_deployed{role="shadow",use_case="churn",version="2"} 1.0',
        'outcome="bad_request"',
    ):
        assert family in text, family


def test_cli_serve_command_is_registered() -> None:
    from modelyard.cli._serve import register_commands

    app = typer.Typer()
    register_commands(app)

    @app.command("other")
    def other() -> None:  # a second command keeps typer from flattening the app
        """Nothing."""

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
        assert option in result.output


@pytest.fixture(scope="module")
def contract() -> RequestContract:
    from importlib import resources

    from modelyard.spec import load_use_case

    path = resources.files("modelyard.demo").joinpath("assets/churn.yaml")
    with resources.as_file(path) as p:
        return RequestContract(load_use_case(p))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tenure": "12"}, "Field 'tenure' must be a number (int). Got \"12\" in row 0 instead; send a JSON number"),
        ({"tenure": 121}, "Field 'tenure' must be at most 120. Got 121 in row 0 instead; send a value in [0, 120]."),
        ({"monthly_charges": -1.0}, "Field 'monthly_charges' must be at least 0. Got -1.0 in row 0 instead"),
        ({"monthly_charges": float("inf")}, "Field 'monthly_charges' must be finite. Got Infinity in row 0"),
        ({"monthly_charges": float("nan")}, "Field 'monthly_charges' must not be null. Got null or missing in row 0"),
        ({"contract": 3}, "Field 'contract' must be a string. Got 3 in row 0 instead; send text in quotes."),
        ({"female": 2}, "Field 'female' must be at most 1. Got 2 in row 0"),
        ({"tenure": 2**64}, "Field 'tenure' must fit in a 64-bit integer. Got 18446744073709551616 in row 0"),
    ],
)
def test_contract_messages_name_field_value_row_and_fix(
    contract: RequestContract, raw_rows: list[dict[str, Any]], change: dict[str, Any], message: str
) -> None:
    rows = Rows.from_records([raw_rows[0], dict(raw_rows[1], **change)])
    with pytest.raises(DataError) as err:
        contract.prepare(concat_rows([rows]))
    assert err.value.message.replace("row 1", "row 0").startswith(message)


def test_contract_accepts_nulls_where_the_spec_allows(
    contract: RequestContract, raw_rows: list[dict[str, Any]]
) -> None:
    features = contract.prepare(pd.DataFrame([dict(raw_rows[0], total_charges=None)]))
    assert features["total_charges"].isna().all()
    assert list(features.columns) == [f.name for f in contract.inputs]


def test_rows_from_records_fills_missing_fields_with_null() -> None:
    rows = Rows.from_records([{"a": 1}, {"b": 2}])
    assert rows.columns == {"a": [1, None], "b": [None, 2]} and rows.n == 2
    assert rows.records() == [{"a": 1, "b": None}, {"a": None, "b": 2}]


def test_scoring_threads_are_pinned(live: Any) -> None:
    """OpenMP's limit is per thread: it must be set inside the thread that scores."""
    from threadpoolctl import threadpool_info

    info = live.service._primary_pool.submit(threadpool_info).result()
    assert info and all(pool["num_threads"] == 1 for pool in info)
