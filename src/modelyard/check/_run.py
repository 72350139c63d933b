"""``run_check``: the handoff check from model and data to a stored verdict."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import NotFoundError, UsageError
from modelyard.check._adapters import OutputAdapter, adapters_from_spec
from modelyard.check._categories import category_check
from modelyard.check._contract import data_checks, model_input_checks
from modelyard.check._data import FeatureCodeError, Sample, build_inputs, read_sample
from modelyard.check._determinism import determinism_checks
from modelyard.check._latency import latency_check, measure_latency
from modelyard.check._memory import MIB, MemoryMeasurementError, artifact_check, measure_memory, memory_check
from modelyard.check._model import Candidate, LoadFailure, load_candidate
from modelyard.check._onnx import convert_to_onnx, onnx_check
from modelyard.check._outputs import PredictFailure, output_checks
from modelyard.check._params import check_parameters, soak_seconds_value
from modelyard.check._result import Check, CheckResult, Status
from modelyard.check._runtime import NATIVE_THREADS, production_runtime
from modelyard.check._soak import run_soak, soak_checks
from modelyard.flavors._sklearn import compiled_scoring

__all__ = ["STAGES", "demo_stage", "run_check"]

STAGES = ("load", "inputs", "outputs", "determinism", "latency", "memory", "soak", "onnx")
"""The check's stages, in order; ``CheckResult.timings_s`` has the seconds each took."""
_MAX_ROWS = 2000
_MEMORY_ROWS = 1000
_LATENCY_SECONDS = 3.0
_LATENCY_MIN_CALLS = 200
_ONNX_LATENCY_SECONDS = 1.0


class _Stop(Exception):
    """A fatal finding: the remaining stages cannot run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_check(
    yard: Any,
    use_case: str | Any,
    model: Any,
    *,
    data: pd.DataFrame | str | Path | None = None,
    soak_seconds: float | None = None,
    trust: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CheckResult:
    """Check that ``model`` will work in production for ``use_case``.

    ``model`` is a registered version (3, "v3", "latest", a stage name), a model file (.skops,
    .onnx, LightGBM .txt, .pkl/.joblib with ``trust``), an import path ``module:function``, or a
    model object. ``data`` holds raw production rows (a DataFrame or a Parquet/CSV path; by default
    ``<root>/data/recent.parquet``); they go through the spec's feature code first, as in the server.
    ``soak_seconds`` sizes the soak (30 s by default, 0 to skip it). ``progress`` is called with
    each stage's name (see :data:`STAGES`) as it starts.

    Usage mistakes (a parameter of the wrong type, an unknown use case or version, a missing or
    empty data file or frame) raise :class:`UsageError` or :class:`NotFoundError`. Problems with
    the model or the data are rows of the result. When the model is a registered version and the
    check ran to the end, the result is stored against it.
    """
    params = check_parameters(
        yard, use_case, model, data=data, soak_seconds=soak_seconds, trust=trust, progress=progress
    )
    spec = yard.use_case(use_case)
    with compiled_scoring(yard.settings.sklearn_compiled):  # the model scores as the server would score it
        return _check(
            yard,
            spec,
            params.model,
            data=data,
            soak_seconds=params.soak_seconds,
            trust=params.trust,
            adapters=None,
            progress=params.progress,
        )


def _check(
    yard: Any,
    spec: Any,
    model: Any,
    *,
    data: pd.DataFrame | str | Path | None,
    soak_seconds: float | None,
    trust: bool,
    adapters: Mapping[str, OutputAdapter] | None,
    progress: Callable[[str], None] | None = None,
) -> CheckResult:
    seconds = soak_seconds_value(soak_seconds)
    sample = _snapshot_sample(yard, data) or read_sample(Path(yard.settings.root), data)
    if adapters is None:
        adapters = adapters_from_spec(spec)
    label = str(model) if isinstance(model, str | int | Path) else f"a {type(model).__qualname__} object"
    result = CheckResult(spec.name, label, None, sample.ref, len(sample.raw))
    runner = _Runner(result, progress)
    try:
        with runner.stage("load", usage_errors=True):
            candidate = _load(yard, spec, model, trust, result)
        with runner.stage("inputs"):
            frame = _inputs(spec, candidate, sample.raw, result, prepared=sample.prepared)
        with production_runtime(NATIVE_THREADS):
            _measure(spec, candidate, frame, adapters, seconds, trust, result, runner)
    except _Stop as stop:
        result.complete = False
        done = {c.name for c in result.checks}
        for name in STAGES:
            if name not in result.timings_s and name not in done:
                result.checks.append(Check(name, Status.SKIP, f"not run: {stop.reason}"))
    if result.version is not None and result.complete:
        _store(yard, result)
    return result


class _Runner:
    def __init__(self, result: CheckResult, progress: Callable[[str], None] | None = None) -> None:
        self.result = result
        self.progress = progress

    @contextlib.contextmanager
    def stage(self, name: str, *, usage_errors: bool = False) -> Iterator[None]:
        """Time a stage and turn what the model raises into a FAIL row. With ``usage_errors``, the
        caller's mistakes (no such version or file) pass through as they are."""
        if self.progress is not None:
            self.progress(name)
        start = time.perf_counter()
        try:
            yield
        except (_Stop, KeyboardInterrupt):
            raise
        except PredictFailure as exc:  # the model raised part-way (e.g. on its 500th call)
            self.result.checks.append(Check(name, Status.FAIL, exc.message, fix="make predict handle every valid row"))
            raise _Stop(f"the model raised during the {name} stage") from exc
        except Exception as exc:
            if usage_errors and isinstance(exc, UsageError | NotFoundError):
                raise
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {_first_line(exc)}"
            self.result.checks.append(
                Check(name, Status.FAIL, f"the {name} stage failed: {message}", fix="see the message; fix the model")
            )
            raise _Stop(f"the {name} stage failed") from exc
        finally:
            self.result.timings_s[name] = time.perf_counter() - start


def _load(yard: Any, spec: Any, model: Any, trust: bool, result: CheckResult) -> Candidate:
    try:
        candidate = load_candidate(yard, spec.name, model, trust=trust)
    except LoadFailure as exc:
        result.checks.append(Check("load", Status.FAIL, exc.message, fix=exc.fix))
        raise _Stop("the model did not load") from exc
    result.model = candidate.label
    result.version = candidate.version.version if candidate.version is not None else None
    loaded = candidate.loaded
    result.checks.append(
        Check(
            "load",
            Status.PASS,
            f"loaded with the {loaded.flavor} flavor ({loaded.format}), as the server loads it",
            measured=f"{candidate.artifact_bytes / MIB:.2f} MB artifact",
        )
    )
    return candidate


def _snapshot_sample(yard: Any, data: Any) -> Sample | None:
    """A snapshot named by its id (or a prefix of 6+ characters), or None when ``data`` is not one."""
    from modelyard.data import get_snapshot, is_snapshot_ref, read_snapshot

    if not is_snapshot_ref(data):
        return None
    snapshot = get_snapshot(yard, str(data))
    return Sample(read_snapshot(yard, snapshot), f"snapshot:{snapshot.id}", prepared=True)


def _inputs(
    spec: Any, candidate: Candidate, raw: pd.DataFrame, result: CheckResult, *, prepared: bool = False
) -> pd.DataFrame:
    try:
        features = raw if prepared else build_inputs(spec, raw)
    except FeatureCodeError as exc:
        result.checks.append(
            Check(
                "data columns",
                Status.FAIL,
                f"the data does not fit the spec: {exc}",
                fix="pass raw production rows, as the feature code (data.features) expects them",
            )
        )
        raise _Stop("the data does not fit the spec") from exc
    if len(features) == 0:  # read_sample refuses empty data: the feature code dropped every row
        found = (
            "the snapshot has 0 rows"
            if prepared
            else f"the feature code {spec.data.features} returned 0 rows from the data's {len(raw):,} rows"
        )
        result.checks.append(
            Check(
                "data rows",
                Status.FAIL,
                f"{found}; the model has nothing to run on",
                measured="0 rows",
                fix="pass raw production rows that the feature code (data.features) keeps",
            )
        )
        raise _Stop("the data has no rows to run the model on")
    model_rows = model_input_checks(
        spec, candidate.loaded.input_names, candidate.input_dtypes, _fitted_width(candidate.loaded.raw)
    )
    rows, valid = data_checks(spec, features)
    result.checks.extend(model_rows + rows)
    if any(r.status == Status.FAIL and r.name == "model inputs" for r in model_rows):
        raise _Stop("the model cannot read production's inputs")
    if any(r.status == Status.FAIL and r.name in ("data columns", "data types") for r in rows):
        raise _Stop("the data does not fit the spec")
    if not valid.any():
        raise _Stop("no row of the data keeps the spec")
    frame = features.loc[valid, list(spec.input_names)].iloc[:_MAX_ROWS]
    result.checks.append(category_check(candidate.loaded, frame))  # on the rows the model will run on
    return frame


def _measure(
    spec: Any,
    candidate: Candidate,
    frame: pd.DataFrame,
    adapters: Mapping[str, OutputAdapter],
    soak_seconds: float,
    trust: bool,
    result: CheckResult,
    runner: _Runner,
) -> None:
    budgets = spec.budgets
    with runner.stage("outputs"):
        try:
            report = output_checks(spec, candidate.loaded, frame, adapters, threshold=candidate.threshold)
        except PredictFailure as exc:
            result.checks.append(
                Check("predict", Status.FAIL, exc.message, fix="make predict handle every row the spec allows")
            )
            raise _Stop("the model raised on predict") from exc
        result.checks.extend(report.rows)
        if report.scorer is None or report.scores is None:
            raise _Stop("the model's output does not fit the spec")
    scorer, scores = report.scorer, report.scores
    with runner.stage("determinism"):
        result.checks.extend(determinism_checks(scorer, frame, scores, budget_ms=budgets.latency_p99_ms))
    with runner.stage("latency"):
        latency = measure_latency(
            scorer, frame, seconds=_LATENCY_SECONDS, min_calls=_LATENCY_MIN_CALLS, budget_ms=budgets.latency_p99_ms
        )
        result.checks.append(latency_check(latency, budgets.latency_p99_ms, NATIVE_THREADS))
        result.measurements.update(latency.to_measurements())
    with runner.stage("memory"):
        try:
            memory = measure_memory(candidate.saved, frame.iloc[:_MEMORY_ROWS], trust=trust)
        except MemoryMeasurementError as exc:
            result.checks.append(
                Check("memory", Status.FAIL, f"the model did not load and score in a fresh process: {exc}")
            )
            raise _Stop("memory could not be measured") from exc
        result.checks.append(memory_check(memory, budgets.memory_mb))
        result.checks.append(artifact_check(candidate.artifact_bytes, budgets.artifact_mb))
        result.measurements.update(
            {
                "memory_mb": memory.model_mb,
                "process_peak_rss_mb": memory.process_peak_mb,
                "artifact_mb": candidate.artifact_bytes / MIB,
            }
        )
    with runner.stage("soak"):
        if soak_seconds > 0:
            run = run_soak(scorer, frame, soak_seconds)
            rows, measurements, _details = soak_checks(run)
            result.checks.extend(rows)
            result.measurements.update(measurements)
        else:
            result.checks.append(Check("soak", Status.SKIP, "skipped (soak seconds 0)"))
    with runner.stage("onnx"):
        conversion = convert_to_onnx(candidate.loaded, frame)
        onnx_p99 = None
        if conversion.model is not None:
            columns = conversion.frame_columns
            onnx_frame = frame[columns] if columns else frame
            onnx_p99 = measure_latency(
                conversion.model.score, onnx_frame, seconds=_ONNX_LATENCY_SECONDS, min_calls=_LATENCY_MIN_CALLS // 2
            ).p99_ms
        row, measurements = onnx_check(
            conversion, frame, np.asarray(scores), onnx_p99_ms=onnx_p99, native_p99_ms=latency.p99_ms
        )
        result.checks.append(row)
        result.measurements.update(measurements)


def _store(yard: Any, result: CheckResult) -> None:
    from modelyard.store import Store, utcnow

    assert result.version is not None
    with yard.store.writing() as conn:
        record = Store.save_check_result(
            conn,
            result.use_case,
            result.version,
            passed=result.passed,
            result=result.to_dict(),
            now=utcnow(),
            data_ref=result.data_ref,
        )
    result.stored_id = record.id


def demo_stage(yard: Any, console: Any) -> CheckResult:
    """The demo's handoff check: churn v2 (the challenger) on ``data/recent.parquet``, a 10 s soak."""
    console.print("[bold]Handoff check[/] of the challenger churn/v2 on the newest customers (10 s soak)")
    result = run_check(yard, "churn", 2, soak_seconds=10)
    console.print(result.table())
    return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fitted_width(raw: Any) -> int | None:
    """How many columns the model was fitted on, when it says (scikit-learn, LightGBM); else None."""
    width = getattr(raw, "n_features_in_", None)
    if width is None and callable(getattr(raw, "num_feature", None)):  # a LightGBM Booster
        try:
            width = raw.num_feature()
        except Exception:  # a booster without a model: say nothing
            return None
    return int(width) if isinstance(width, int | np.integer) else None
