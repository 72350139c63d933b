"""``evaluate``: score challenger and champion on labelled rows, decide, store, report."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelyard._exceptions import DataError, ModelyardError, NotFoundError, UsageError
from modelyard.evaluate._baseline import MIN_TRAINING_ROWS, baseline_scores, training_baseline_scores
from modelyard.evaluate._compare import Contender, compare, folds_for
from modelyard.evaluate._costs import row_costs
from modelyard.evaluate._data import (
    EvaluationData,
    Scores,
    check_scores,
    default_data_path,
    evaluation_columns,
    prepare_data,
    read_scores,
)
from modelyard.evaluate._errors import NoPassingEvaluationError
from modelyard.evaluate._gates import PROMOTE, check_gates, verdict_of
from modelyard.evaluate._leakage import allowed_training_rows_check, refuse_training_rows
from modelyard.evaluate._schema import SCHEMA_VERSION, jsonable
from modelyard.spec import UseCase
from modelyard.store import EvaluationRecord, ModelVersion, Store, utcnow

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["Evaluation", "cost_model_sha256", "evaluate", "load_evaluation", "require_passing_evaluation"]

_MB = 1024 * 1024


@dataclass
class Evaluation:
    """The outcome of an evaluation: its verdict, reasons and every number behind them.

    ``to_json()`` gives the versioned JSON (see :data:`modelyard.evaluate.SCHEMA`), ``to_markdown()``
    a pull-request comment, ``to_html()`` the self-contained report; in a notebook it shows as HTML.
    """

    result: dict[str, Any]
    record: EvaluationRecord | None = None
    report_path: Path | None = None

    @property
    def id(self) -> str:
        return str(self.result["id"])

    @property
    def verdict(self) -> str:
        """PROMOTE, HOLD or BLOCK."""
        return str(self.result["verdict"])

    @property
    def reasons(self) -> list[str]:
        """One line per gate and guard: the gate, the measured value with its interval, the bound."""
        return list(self.result["reasons"])

    def to_dict(self) -> dict[str, Any]:
        return self.result

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.result, indent=indent, allow_nan=False)

    def to_markdown(self) -> str:
        from modelyard.evaluate._report_markdown import render_markdown

        return render_markdown(self.result)

    def to_html(self) -> str:
        from modelyard.evaluate._report_html import render_html

        return render_html(self.result)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Evaluation {self.id} {self.result['use_case']} verdict={self.verdict}>"


def cost_model_sha256(use_case: UseCase) -> str:
    """A hash of what prices the decisions: the costs and the segments (filters and overrides)."""
    payload = {
        "costs": use_case.costs.model_dump(mode="json"),
        "segments": [s.model_dump(mode="json", exclude={"guards"}) for s in use_case.segments],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _production(yard: Yard, name: str) -> ModelVersion | None:
    try:
        return yard.model(name, "production")
    except NotFoundError:
        return None


def _measurements(yard: Yard, mv: ModelVersion) -> dict[str, Any]:
    with yard.store.reading() as conn:
        check = Store.latest_check_result(conn, mv.use_case, mv.version)
    found = dict((check.result or {}).get("measurements") or {}) if check else {}
    found.setdefault("artifact_mb", mv.artifact_size / _MB)
    return found


def _info(mv: ModelVersion, measurements: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": mv.version,
        "stage": mv.stage.value,
        "flavor": mv.flavor,
        "description": mv.description,
        "artifact_mb": mv.artifact_size / _MB,
        "measurements": measurements,
    }


def evaluate(
    yard: Yard,
    use_case: str | UseCase,
    challenger: int | str,
    *,
    against: int | str | None = "production",
    data: pd.DataFrame | str | Path | None = None,
    scores: Scores | Sequence[Scores] | None = None,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    allow_negative_costs: bool = False,
    trust: bool = False,
    store: bool = True,
    baseline: bool = True,
    allow_training_rows: str | None = None,
) -> Evaluation:
    """Evaluate ``challenger`` against ``against`` (the production version by default) on ``data``.

    ``data`` is a frame or a Parquet/CSV file of labelled rows, raw (the spec's feature code runs on
    it) or model inputs; ``<root>/data/recent.parquet`` by default. With no champion (``against=None``
    or nothing in production) the challenger is compared with the cheaper trivial policy. The
    evaluation is stored with its HTML report under ``<home>/reports/`` unless ``store=False``;
    when anything fails, nothing is stored. With ``baseline``, a logistic regression cross-fitted on
    the same rows is priced as a simple reference ("is it worth it").

    ``scores`` takes already-scored output instead of scoring in this process: the Parquet file or
    folder ``modelyard score`` writes (``--engine spark`` too), or a frame, one per version or one
    holding both; rows go to versions by their ``version`` column and to ``data``'s rows by the
    spec's entity key. ``data`` still gives the labels and the columns costs and segments use;
    with ``baseline=False`` and a snapshot as ``data``, only those columns are read.

    Data that cannot measure the models is refused (:class:`EvaluationError`, nothing stored):
    fewer than :data:`MIN_ROWS_PER_CLASS` positive or negative rows, or, by the lineage of either
    version, its training snapshot, its training frame, every row of its training snapshot, or
    well more of the rows it was fitted on than chance gives (see :mod:`._leakage`), or when the
    fingerprints of its training rows cannot be read. ``allow_training_rows`` (why, in words)
    evaluates anyway: the result records the reason and what was found, and when the challenger's
    own training rows are among the data the verdict is HOLD at best.
    """
    if not isinstance(replicates, int) or replicates < 100:
        raise UsageError(f"The 'replicates' parameter must be an int >= 100. Got {replicates!r} instead.")
    if not 0.5 <= level < 1:
        raise UsageError(f"The 'level' parameter must be in [0.5, 1). Got {level!r} instead.")
    if allow_training_rows is not None:
        allow_training_rows = _checked_why(allow_training_rows)
    spec = yard.use_case(use_case)
    name = spec.name
    chal_mv = yard.model(name, challenger)
    champ_mv = _production(yard, name) if against == "production" else None
    if against not in (None, "production"):
        champ_mv = yard.model(name, against)
    if champ_mv is not None and champ_mv.version == chal_mv.version:
        raise UsageError(f"{chal_mv.ref} is the version it would be compared with; name another with --against VERSION")
    if data is None:
        data = default_data_path(yard.settings.root)
    prepared = _prepare(yard, spec, data, inputs=scores is None or baseline)
    compared = [("challenger", chal_mv)] + ([("champion", champ_mv)] if champ_mv is not None else [])
    row_checks, allowed = refuse_training_rows(yard, spec, prepared, compared, allow=allow_training_rows)
    costs, masks = row_costs(spec, prepared.columns, prepared.y, allow_negative=allow_negative_costs)
    versions = {mv.version: mv.ref for mv in (chal_mv, champ_mv) if mv is not None}
    scored = read_scores(spec, scores, prepared, versions) if scores is not None else {}

    def contender(role: str, mv: ModelVersion) -> Contender:
        info = _info(mv, _measurements(yard, mv))
        if mv.version in scored:
            values, info["scores"] = scored[mv.version]
        else:
            model = yard.load(name, mv.version, trust=trust)
            try:
                values = model.score(prepared.inputs)
            except ModelyardError:
                raise
            except Exception as exc:  # the model's own failure: the check says what to fix
                raise DataError(
                    f"{mv.ref} ({role}) failed to score the evaluation data: {type(exc).__name__}: {exc}; "
                    f"run 'modelyard check {name} {mv.version}' for what differs from the spec"
                ) from exc
        checked = check_scores(values, mv.ref, prepared.columns.index)
        return Contender(role, f"v{mv.version}", checked, threshold_in_use=mv.threshold, info=info)

    chal = contender("challenger", chal_mv)
    champ = contender("champion", champ_mv) if champ_mv is not None else None
    segment_info = {s.name: {"filter": s.filter} for s in spec.segments}
    reference, reference_label = _reference(yard, spec, chal_mv, prepared, seed) if baseline else (None, "")
    result = compare(
        prepared,
        costs,
        masks,
        chal,
        champ,
        replicates=replicates,
        seed=seed,
        level=level,
        segment_info=segment_info,
        reference_scores=reference,
        reference_label=reference_label,
    )
    evaluation_id = f"ev_{uuid.uuid4().hex[:16]}"
    now = utcnow()
    checks = check_gates(spec, result, chal.info["measurements"])
    if allow_training_rows is not None and (
        check := allowed_training_rows_check(allowed, row_checks, allow_training_rows)
    ):
        checks.append(check)
    result = {
        "schema_version": SCHEMA_VERSION,
        "id": evaluation_id,
        "use_case": name,
        "created_at": now.isoformat(),
        "verdict": verdict_of(checks),
        "reasons": [c.reason for c in checks],
        "gates": [c.to_dict() for c in checks],
        **result,
        "worth_it": _worth_it(result),
        "training_rows": row_checks,
        "training_rows_allowed": {"why": allow_training_rows, "found": allowed} if allowed else None,
    }
    result["cost_model_sha256"] = cost_model_sha256(spec)
    evaluation = Evaluation(jsonable(result))
    if store:
        _store(yard, evaluation, chal_mv, champ_mv, prepared.ref, now)
    return evaluation


def _worth_it(result: dict[str, Any]) -> dict[str, Any]:
    models = result["models"]
    options = []
    for role in ("challenger", "champion"):
        entry = models[role]
        options.append(
            {
                "role": role,
                "label": entry["label"],
                "version": entry.get("version"),
                "cost_per_1000": entry["metrics"]["cost_per_1000"],
                "artifact_mb": entry.get("artifact_mb"),
                "latency_p99_ms": (entry.get("measurements") or {}).get("latency_p99_ms"),
            }
        )
    chal, champ = models["challenger"], models["champion"]
    chal_cost = chal["metrics"]["cost_per_1000"]
    notes = []
    simpler_inside = False
    champ_cost = champ["metrics"]["cost_per_1000"]["value"]
    smaller = (champ.get("artifact_mb") or 0) <= (chal.get("artifact_mb") or 0)
    if champ.get("version") is not None and smaller and champ_cost <= chal_cost["high"]:
        simpler_inside = True
        notes.append(
            f"the smaller {champ['label']} ({champ['artifact_mb']:.2f} MB) costs {champ_cost:,.0f} per 1,000, "
            f"within the challenger's interval [{chal_cost['low']:,.0f}, {chal_cost['high']:,.0f}] or below it"
        )
    reference = result.get("reference")
    if reference is not None:
        ref_cost = reference["cost_per_1000"]
        options.append(
            {
                "role": "reference",
                "label": reference["label"],
                "version": None,
                "cost_per_1000": ref_cost,
                "artifact_mb": None,
                "latency_p99_ms": None,
            }
        )
        if ref_cost["value"] <= chal_cost["high"]:
            simpler_inside = True
            caveat = (
                " (it learnt from the evaluation period itself, so it is an optimistic reference)"
                if "cross-fitted" in reference["label"]
                else ""
            )
            notes.append(
                f"a {reference['label']} costs {ref_cost['value']:,.0f} per 1,000 "
                f"(ROC AUC {reference['roc_auc']:.3f}), within the challenger's interval or below it{caveat}"
            )
    if simpler_inside:
        note = "A simpler model would do about as well: " + "; ".join(notes)
    else:
        note = (
            f"No simpler model comes within the challenger's cost interval "
            f"[{chal_cost['low']:,.0f}, {chal_cost['high']:,.0f}] per 1,000"
        )
    return {"simpler_within_interval": simpler_inside, "note": note, "options": options}


def _store(
    yard: Yard,
    evaluation: Evaluation,
    chal: ModelVersion,
    champ: ModelVersion | None,
    data_ref: str,
    now: Any,
) -> None:
    folder = yard.settings.resolved_home() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{evaluation.id}.html"
    path.write_text(evaluation.to_html(), encoding="utf-8")
    values = {
        "id": evaluation.id,
        "use_case": chal.use_case,
        "challenger_version": chal.version,
        "champion_version": champ.version if champ else None,
        "verdict": evaluation.verdict,
        "schema_version": SCHEMA_VERSION,
        "result": evaluation.result,
        "created_at": now,
        "data_ref": data_ref,
        "cost_model_sha256": evaluation.result["cost_model_sha256"],
        "report_path": str(path),
    }
    try:
        with yard.store.writing() as conn:
            evaluation.record = Store.save_evaluation(conn, values)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    evaluation.report_path = path


def _checked_why(why: str) -> str:
    from modelyard.registry._registry import REASON_MAX, check_audit_text

    if not isinstance(why, str) or not why.strip():
        raise UsageError(
            '--allow-training-rows needs a reason in words, e.g. --allow-training-rows "the champion was '
            f'refitted on all data; no later rows exist yet" (allow_training_rows= in Python). Got {why!r} instead.'
        )
    return check_audit_text("reason for --allow-training-rows", " ".join(why.split()), REASON_MAX)


def load_evaluation(yard: Yard, evaluation_id: str) -> Evaluation:
    """A stored evaluation by id."""
    with yard.store.reading() as conn:
        record = Store.get_evaluation(conn, evaluation_id)
    if record is None:
        raise NotFoundError(f"There is no evaluation {evaluation_id!r}; list them with 'modelyard evaluations'")
    path = Path(record.report_path) if record.report_path else None
    return Evaluation(record.result, record, path)


def _reference(
    yard: Yard, spec: UseCase, challenger: ModelVersion, prepared: EvaluationData, seed: int
) -> tuple[Any, str]:
    """A logistic regression baseline: on the challenger's training snapshot when its lineage names
    one (its labelled rows less the evaluation rows, by entity key) and they are enough to fit on,
    else cross-fitted on the evaluation rows, the label saying why."""
    key = spec.data.entity_key
    why = ""
    if challenger.snapshot_id and key and key in prepared.columns.columns:
        from modelyard.data import get_snapshot, read_snapshot

        try:
            snapshot = get_snapshot(yard, challenger.snapshot_id)
            rows = read_snapshot(yard, snapshot)
        except NotFoundError:
            rows = None
        label = spec.data.label
        if rows is not None and key in rows.columns and label in rows.columns:
            train = rows[~rows[key].isin(prepared.columns[key]) & rows[label].notna()]
            train_y = (train[label] == spec.positive_label).to_numpy(dtype=bool)
            positives = int(train_y.sum())
            if len(train) >= MIN_TRAINING_ROWS and 0 < positives < len(train):
                scores = training_baseline_scores(spec, train, train_y, prepared.inputs)
                if scores is not None:
                    return scores, (
                        f"logistic regression (fitted on {challenger.ref}'s training snapshot "
                        f"{snapshot.short_id}, {len(train):,} rows, evaluation rows excluded)"
                    )
            else:
                why = (
                    f"; {challenger.ref}'s training snapshot {snapshot.short_id} has {len(train):,} labelled rows "
                    f"besides the evaluation rows ({positives:,} positive), too few to fit on: it needs "
                    f"{MIN_TRAINING_ROWS} rows holding both classes"
                )
    fallback = baseline_scores(spec, prepared.inputs, prepared.y, folds_for(prepared.n, seed))
    return fallback, f"logistic regression (cross-fitted on these rows{why})"


def _prepare(yard: Yard, spec: UseCase, data: pd.DataFrame | str | Path, *, inputs: bool) -> EvaluationData:
    """The evaluation rows from a frame, a file, or a snapshot id (recorded as ``snapshot:<id>``).

    Without ``inputs`` (scores given, no baseline), a snapshot's rows are read for the columns the
    evaluation uses only: they already hold the feature code's output.
    """
    from modelyard.data import get_snapshot, is_snapshot_ref, read_snapshot

    if is_snapshot_ref(data):
        snapshot = get_snapshot(yard, str(data))
        ref = f"snapshot:{snapshot.id}"
        if inputs or not Path(snapshot.path).exists():  # a missing file: read_snapshot says so
            return prepare_data(spec, read_snapshot(yard, snapshot), ref=ref)
        wanted = [c for c in evaluation_columns(spec) if c in snapshot.columns]
        return prepare_data(spec, pd.read_parquet(snapshot.path, columns=wanted), inputs=False, ref=ref)
    return prepare_data(spec, data)


def require_passing_evaluation(yard: Yard, use_case: str, version: int | str) -> EvaluationRecord:
    """The newest stored PROMOTE evaluation of ``version`` against the current production version.

    Raise :class:`NoPassingEvaluationError` (exit code 2) saying how to evaluate, or how to force,
    when there is none, or when the cost model changed since.
    """
    spec = yard.use_case(use_case)
    mv = yard.model(spec.name, version)
    prod = _production(yard, spec.name)
    champion = prod.version if prod else None
    with yard.store.reading() as conn:
        records = Store.list_evaluations(conn, spec.name, mv.version)
    against = [r for r in records if r.champion_version == champion]
    current = cost_model_sha256(spec)
    passing = [r for r in against if r.verdict == PROMOTE and r.cost_model_sha256 == current]
    if passing:
        return passing[-1]
    whom = f"the production version v{champion}" if champion else "the trivial policies (nothing is in production)"
    if against and against[-1].verdict == PROMOTE:
        state = f"its PROMOTE evaluation {against[-1].id} used another cost model than the spec has now"
    elif against:
        state = f"its latest evaluation {against[-1].id} says {against[-1].verdict}"
    else:
        state = "it was never evaluated against it"
    raise NoPassingEvaluationError(
        f"{mv.ref} has no passing evaluation against {whom}: {state}; "
        f"run 'modelyard evaluate {spec.name} {mv.version}' until it says PROMOTE, "
        f'or promote anyway with --force --why "..." (recorded in the audit trail)'
    )
