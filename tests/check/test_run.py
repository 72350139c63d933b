"""run_check end to end: a stored verdict for a registered version; bad input gives a clear result."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from rich.console import Console

from check import leaky_models
from modelyard import NotFoundError, UsageError
from modelyard.check import STAGES, CheckResult, OutputAdapter, Status, run_check
from modelyard.check._run import _check
from modelyard.store import Store


def _stored(yard, version: int):  # type: ignore[no-untyped-def]
    with yard.store.reading() as conn:
        return Store.list_check_results(conn, "churn", version)


def test_registered_version_is_checked_and_stored(check_yard, make_model, churn_frame, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modelyard.check import _run

    monkeypatch.setattr(_run, "_LATENCY_SECONDS", 0.5)  # the real memory subprocess, a real 2 s soak
    x, _ = churn_frame
    mv = check_yard.register("churn", make_model(1.0), training_data=x)
    result = run_check(check_yard, "churn", "latest", soak_seconds=2)
    assert result.passed and result.exit_code == 0, result.failures()
    assert result.model == "churn/v1" and result.version == mv.version
    assert result.rows == 600 and result.data_ref.endswith("recent.parquet")
    for key in ("latency_p99_ms", "memory_mb", "artifact_mb"):
        assert isinstance(result.measurements[key], float)
    assert 0 < result.measurements["memory_mb"] < 500
    assert set(result.timings_s) == set(STAGES)
    (record,) = _stored(check_yard, mv.version)
    assert record.id == result.stored_id and record.passed
    assert record.result["measurements"]["latency_p99_ms"] == pytest.approx(result.measurements["latency_p99_ms"])
    with check_yard.store.reading() as conn:
        assert Store.latest_check_result(conn, "churn", mv.version).id == result.stored_id
    text = io.StringIO()
    Console(file=text, width=200).print(result.table())
    assert "Handoff check of churn/v1 for churn on 600 rows" in text.getvalue()
    data = result.to_dict()
    assert data["passed"] is True and data["checks"][0]["name"] == "load"


def test_a_model_file_is_checked_but_not_stored(check_yard, tmp_path: Path, baseline_model, fast) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.skops"
    skops.io.dump(baseline_model, path)
    result = run_check(check_yard, "churn", str(path), soak_seconds=0)
    assert result.passed, result.failures()
    assert result.version is None and result.stored_id is None
    assert result.check("soak").status == Status.SKIP


def test_a_damaged_model_file_names_the_flavor_and_why(check_yard, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip file")
    result = run_check(check_yard, "churn", str(path), soak_seconds=0)
    row = result.check("load")
    assert row.status == Status.FAIL and result.exit_code == 1 and not result.complete
    assert row.message == f"{path} does not load with the sklearn flavor (skops): BadZipFile: File is not a zip file"
    assert {c.status for c in result.checks if c.name != "load"} == {Status.SKIP}


def test_a_pickle_without_trust_is_refused_with_the_fix(check_yard, tmp_path: Path, baseline_model) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(baseline_model))
    row = run_check(check_yard, "churn", str(path), soak_seconds=0).check("load")
    assert row.status == Status.FAIL
    assert "is a pickle, and loading a pickle runs code from the file" in row.message
    assert row.fix.startswith("pass --trust (trust=True)")


def test_a_pickle_with_trust_loads(check_yard, tmp_path: Path, baseline_model, fast) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(baseline_model))
    assert run_check(check_yard, "churn", str(path), soak_seconds=0, trust=True).check("load").status == Status.PASS


def test_data_that_does_not_fit_the_spec_at_all(check_yard, tmp_path: Path, baseline_model) -> None:  # type: ignore[no-untyped-def]
    mv = check_yard.register("churn", baseline_model)
    path = tmp_path / "other.csv"
    pd.DataFrame({"city": ["Paris", "Lyon"], "temperature": [12.5, 14.0]}).to_csv(path, index=False)
    result = run_check(check_yard, "churn", mv.version, data=path, soak_seconds=0)
    row = result.check("data columns")
    assert row.status == Status.FAIL and not result.complete
    assert row.message == (
        "the data does not fit the spec: the feature code modelyard.demo.features:churn_features failed on the "
        "data: it needs column 'female', which the data does not have; the data has columns city, temperature"
    )
    assert _stored(check_yard, mv.version) == []  # nothing half-stored


def test_a_model_that_raises_shows_the_first_failing_row_and_stores_nothing(check_yard) -> None:  # type: ignore[no-untyped-def]
    mv = check_yard.register("churn", leaky_models.raises_on_month_to_month)
    result = run_check(check_yard, "churn", mv.version, soak_seconds=0)
    row = result.check("predict")
    assert row.status == Status.FAIL and result.exit_code == 1
    assert "the model raised ValueError: cannot score month-to-month contracts on row " in row.message
    assert "'contract': 'Month-to-month'" in row.message
    assert _stored(check_yard, mv.version) == []


def test_renamed_model_columns_stop_the_check(check_yard, churn_frame) -> None:  # type: ignore[no-untyped-def]
    x, y = churn_frame
    renamed = x.rename(columns={"monthly_charges": "MonthlyCharges"})
    from sklearn.linear_model import LogisticRegression

    numeric = renamed[["tenure", "MonthlyCharges"]]
    fitted = LogisticRegression().fit(numeric, y)
    result = run_check(check_yard, "churn", fitted, soak_seconds=0)
    row = result.check("model inputs")
    assert row.status == Status.FAIL
    assert "the model reads 'MonthlyCharges', which production calls 'monthly_charges'" in row.message
    assert result.check("outputs").status == Status.SKIP


def test_a_model_fitted_on_a_narrower_array_stops_the_check_with_the_fix(check_yard, churn_frame) -> None:  # type: ignore[no-untyped-def]
    """Fitted on a bare array of 2 columns, the model cannot tell which of the spec's inputs it
    learnt from: one FAIL that says so, rather than the predict error it would raise."""
    from sklearn.linear_model import LogisticRegression

    x, y = churn_frame
    fitted = LogisticRegression().fit(x[["tenure", "monthly_charges"]].to_numpy(), y)
    result = run_check(check_yard, "churn", fitted, soak_seconds=0)
    row = result.check("model inputs")
    assert row.status == Status.FAIL
    assert row.message.startswith("the model was fitted on an array of 2 unnamed column(s); production sends")
    assert row.fix.startswith("fit the model on a pandas DataFrame of the spec's inputs")
    assert result.check("outputs").status == Status.SKIP


def test_almost_right_output_fails_until_the_adapter_is_declared(check_yard, fast) -> None:  # type: ignore[no-untyped-def]
    spec = check_yard.use_case("churn")
    model = "check.leaky_models:percent"
    failing = _check(check_yard, spec, model, data=None, soak_seconds=0, trust=False, adapters=None)
    assert failing.check("output range").fix == "add under outputs/score in the spec: adapter: {scale: 0.01}"
    assert failing.exit_code == 1
    adapters = {"score": OutputAdapter("score", scale=0.01)}
    passing = _check(check_yard, spec, model, data=None, soak_seconds=0, trust=False, adapters=adapters)
    assert passing.passed, passing.failures()


def test_usage_mistakes_raise(check_yard, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match=r"churnn"):
        run_check(check_yard, "churnn", 1)
    with pytest.raises(NotFoundError, match=r"Data file .*missing.parquet does not exist"):
        run_check(check_yard, "churn", "check.leaky_models:healthy", data=tmp_path / "missing.parquet")
    with pytest.raises(UsageError, match="The 'soak_seconds' parameter must be a number of seconds >= 0"):
        run_check(check_yard, "churn", "check.leaky_models:healthy", soak_seconds=-1)
    with pytest.raises(NotFoundError, match=r"Model file nothing\.skops does not exist"):
        run_check(check_yard, "churn", "nothing.skops", soak_seconds=0)


def test_no_data_file_is_a_clear_error(yard) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match=r"No data to check with: .*recent.parquet does not exist; pass a Parquet"):
        run_check(yard, "churn", "check.leaky_models:healthy")


def test_onnx_parity_for_a_numeric_model(check_yard, churn_frame, fast) -> None:  # type: ignore[no-untyped-def]
    from sklearn.ensemble import RandomForestClassifier

    x, y = churn_frame
    forest = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0)
    model = forest.fit(x[["tenure", "monthly_charges"]], y)
    result = run_check(check_yard, "churn", model, soak_seconds=0)
    row = result.check("onnx")
    assert row.status in (Status.PASS, Status.WARN), row
    assert "converted with skl2onnx" in row.message
    if row.status == Status.WARN:
        assert "rows differ by more than 0.0001 (row " in row.message
        assert result.measurements["onnx_servable"] == 0.0
    else:
        assert result.measurements["onnx_servable"] == 1.0
    assert result.measurements["onnx_latency_p99_ms"] > 0


def test_result_json_round_trips(check_yard, fast) -> None:  # type: ignore[no-untyped-def]
    import json

    result = run_check(check_yard, "churn", "check.leaky_models:healthy", soak_seconds=0)
    data = json.loads(result.to_json())
    assert data["passed"] is True and data["exit_code"] == 0
    assert isinstance(result, CheckResult)
    assert [c["name"] for c in data["checks"]][:2] == ["load", "model inputs"]


def test_a_snapshot_id_is_check_data(check_yard, make_model, raw_recent, fast) -> None:  # type: ignore[no-untyped-def]
    """A snapshot's rows already went through the feature code: the check runs the model on them as they are."""
    from modelyard.data import build_snapshot
    from modelyard.demo._data import write_monthly_partitions

    write_monthly_partitions(raw_recent, Path(check_yard.settings.root) / "data" / "churn")
    snapshot = build_snapshot(check_yard, "churn")
    mv = check_yard.register("churn", make_model(1.0))
    result = run_check(check_yard, "churn", mv.version, data=snapshot.id[:10], soak_seconds=0)
    assert result.passed, result.failures()
    assert result.data_ref == f"snapshot:{snapshot.id}" and result.rows == snapshot.row_count
    (record,) = _stored(check_yard, mv.version)
    assert record.data_ref == f"snapshot:{snapshot.id}"


_MODEL_MUST = (
    "The 'model' parameter must be a registered version (3, 'v3', 'latest' or a stage name), a model file, "
    "a 'module:function' import path or a fitted model object. Got {} instead."
)
_DATA_MUST = (
    "The 'data' parameter must be a DataFrame of raw production rows, a Parquet/CSV path or a snapshot id "
    "(or None for <root>/data/recent.parquet). Got {} instead."
)
_SOAK_MUST = (
    "The 'soak_seconds' parameter must be a number of seconds >= 0 (0 skips the soak, None soaks for 30 s). "
    "Got {} instead."
)
_TRUST_MUST = (
    "The 'trust' parameter must be True or False (True allows pickle files, which run code when loaded). "
    "Got {} instead."
)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"yard": None}, "The 'yard' parameter must be a Yard (modelyard.open_yard()). Got None instead."),
        (
            {"yard": "/tmp/yard"},
            "The 'yard' parameter must be a Yard (modelyard.open_yard()). Got '/tmp/yard' instead.",
        ),
        ({"use_case": None}, "The 'use_case' parameter must be a use-case name (str) or a UseCase. Got None instead."),
        ({"use_case": 3}, "The 'use_case' parameter must be a use-case name (str) or a UseCase. Got 3 instead."),
        ({"model": None}, _MODEL_MUST.format("None")),
        ({"model": 3.5}, _MODEL_MUST.format("3.5")),
        ({"model": True}, _MODEL_MUST.format("True")),
        ({"model": ""}, _MODEL_MUST.format("''")),
        ({"data": 3}, _DATA_MUST.format("3")),
        ({"data": np.zeros((2, 2))}, _DATA_MUST.format("a numpy.ndarray object")),
        ({"soak_seconds": -1}, _SOAK_MUST.format("-1")),
        ({"soak_seconds": float("inf")}, _SOAK_MUST.format("inf")),
        ({"soak_seconds": "10"}, _SOAK_MUST.format("'10'")),
        ({"trust": "yes"}, _TRUST_MUST.format("'yes'")),
        ({"trust": None}, _TRUST_MUST.format("None")),
    ],
)
def test_a_parameter_of_the_wrong_type_is_a_usage_error(check_yard, arguments, message) -> None:  # type: ignore[no-untyped-def]
    """Before any work: the caller's mistake is an error naming the parameter and the value, never a FAIL row."""
    given = {"yard": check_yard, "use_case": "churn", "model": "check.leaky_models:healthy", "soak_seconds": 0}
    given.update(arguments)
    yard, use_case, model = given.pop("yard"), given.pop("use_case"), given.pop("model")
    with pytest.raises(UsageError, match=re.escape(message) + "$"):
        run_check(yard, use_case, model, **given)


def test_a_numpy_integer_names_a_version(check_yard, make_model, fast) -> None:  # type: ignore[no-untyped-def]
    mv = check_yard.register("churn", make_model(1.0))
    result = run_check(check_yard, "churn", np.int64(mv.version), soak_seconds=0)
    assert result.model == "churn/v1" and result.passed, result.failures()


def test_an_empty_data_frame_says_so(check_yard, raw_recent) -> None:  # type: ignore[no-untyped-def]
    root = Path(check_yard.settings.root)
    with pytest.raises(UsageError) as caught:
        run_check(check_yard, "churn", "check.leaky_models:healthy", data=raw_recent.iloc[:0], soak_seconds=0)
    assert caught.value.message == (
        f"The 'data' parameter is an empty DataFrame (0 rows, {raw_recent.shape[1]} columns); the check needs "
        "production rows to run the model on. Pass a DataFrame of raw production rows, a Parquet/CSV path or a "
        f"snapshot id, or leave data out to use {root / 'data' / 'recent.parquet'}"
    )


def test_an_empty_data_file_says_so(check_yard, raw_recent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.parquet"
    raw_recent.iloc[:0].to_parquet(path)
    with pytest.raises(UsageError, match=re.escape(f"The data file {path} is empty (0 rows); the check needs")):
        run_check(check_yard, "churn", "check.leaky_models:healthy", data=path, soak_seconds=0)


def test_feature_code_that_drops_every_row_fails(check_yard, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modelyard.check import _run

    real = _run.build_inputs
    monkeypatch.setattr(_run, "build_inputs", lambda spec, raw: real(spec, raw).iloc[:0])
    result = run_check(check_yard, "churn", "check.leaky_models:healthy", soak_seconds=0)
    row = result.check("data rows")
    assert row.status == Status.FAIL and not result.complete
    assert row.message == (
        "the feature code modelyard.demo.features:churn_features returned 0 rows from the data's 600 rows; "
        "the model has nothing to run on"
    )
    assert result.check("outputs").message == "not run: the data has no rows to run the model on"


@pytest.mark.parametrize("func", ["hard_labels", "bool_labels"])
def test_a_registered_label_model_fails_the_check(check_yard, fast, func) -> None:  # type: ignore[no-untyped-def]
    """The probe's case: a Python function returning 0/1 (or booleans) used to pass every row."""
    mv = check_yard.register("churn", getattr(leaky_models, func))
    result = run_check(check_yard, "churn", mv.version, soak_seconds=0)
    row = result.check("output values")
    assert row.status == Status.FAIL and result.exit_code == 1 and result.complete
    assert row.message.startswith("score takes only 2 values (")
    assert ") on 600 rows: the model returns " in row.message
    assert row.fix == "return the probability of the positive class (predict_proba(X)[:, 1]), not the predicted label"
    (record,) = _stored(check_yard, mv.version)
    assert not record.passed


def test_a_slow_model_gets_its_verdict_without_hundreds_of_calls(check_yard, fast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A 5 s model used to take 25 minutes here: 100 one-row calls for batch = single, 230 for latency."""
    from check import slow_models
    from modelyard.check import _determinism

    monkeypatch.setattr(_determinism, "SINGLE_SECONDS", 0.5)
    spec = Path(check_yard.settings.root) / "usecases" / "churn.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("latency_p99_ms: 2000 ", "latency_p99_ms: 50 "))
    mv = check_yard.register("churn", slow_models.slow)
    slow_models.CALLS[0] = 0
    stages: list[str] = []
    result = run_check(check_yard, "churn", mv.version, soak_seconds=0, progress=stages.append)
    assert stages == list(STAGES) and result.complete
    assert slow_models.CALLS[0] < 40, slow_models.CALLS[0]
    single = result.check("batch = single")
    assert single.status == Status.PASS
    assert single.message.startswith("10 rows in a batch vs alone (the first 10 of 100: one-row calls took ")
    latency = result.check("latency")
    assert latency.status == Status.FAIL
    assert "stopped after 2 of 30 calls: 2 were over the budget" in latency.message


def test_progress_must_be_callable(check_yard) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="The 'progress' parameter must be a function taking a stage name"):
        run_check(check_yard, "churn", "latest", progress="yes")
