"""Refuse evaluation data a compared version learnt from: scored on its own training rows, it looks
better than it is, and the gates would pass on that.

The lineage says what each version learnt from: ``snapshot_id`` (the snapshot its training rows
were taken from) and ``training_data_hash`` (a hash of the frame it was fitted on). For the
challenger and the champion alike, the evaluation data is refused when it

- *is* that snapshot (``data=<snapshot id>``, ``--data <snapshot id>``);
- is the training frame itself (its model inputs hash to ``training_data_hash``);
- holds every entity key of that snapshot (the snapshot as a file or frame, or a later rebuild of
  the source that grew from it), so every training row is among the evaluation rows;
- has :data:`LEAK_SHARE` (10 points) more of its rows among the rows the version was fitted on than
  fresh rows would have by chance, by the fingerprints of its training rows kept at registration
  (a random split of the training frame, training rows mixed into fresh ones). Only rows that occur
  once in training are fingerprinted, and the chance share is estimated from the rows seen twice
  (see :mod:`modelyard.registry._training_rows`), so rows that many customers send do not count.
  With ``scores`` and no baseline, the model inputs are not read, and this test is not made.

With ``allow_training_rows`` (``--allow-training-rows "WHY"``) nothing is refused: what would
have been is recorded with the reason, and a gate "training rows" keeps the verdict at HOLD at best
unless the challenger's own rows were compared and are not among the data.

Sharing only some entity keys with the snapshot is allowed: the lineage's snapshot is where the
training rows came from, and a time split keeps its later rows for evaluation (``split_by_time``,
as the demo does), so a partial overlap of keys says nothing about leakage by itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pandas as pd

from modelyard._exceptions import ArtifactIntegrityError, NotFoundError
from modelyard.evaluate._data import EvaluationData
from modelyard.evaluate._errors import EvaluationError
from modelyard.evaluate._gates import Check
from modelyard.spec import UseCase
from modelyard.store import ModelVersion

if TYPE_CHECKING:
    from modelyard._yard import Yard
    from modelyard.registry._training_rows import TrainingRows

__all__ = ["LEAK_SHARE", "allowed_training_rows_check", "leaks", "refuse_training_rows"]

LEAK_SHARE = 0.10
"""How far above the chance share the share of evaluation rows found among a version's training rows
must be for the data to be refused."""
_MIN_FOUND = 10
_SIGNIFICANT_Z = 4.0  # and that far above chance in binomial standard deviations, for small data


@dataclass
class _Findings:
    """What the tests found. Without ``allow`` the first finding is refused at once; with it (the
    user's reason for evaluating anyway) each is kept as ``{"roles", "versions", "kind", "what"}``,
    ``kind`` being "found" (training rows are among the data) or "unchecked" (they could not be
    looked for)."""

    spec: UseCase
    allow: str | None
    found: list[dict[str, Any]] = field(default_factory=list)

    def add(self, whose: Sequence[tuple[str, ModelVersion]], what: str, kind: str = "found") -> None:
        if self.allow is None:
            _refuse(self.spec, what)
        roles, versions = [role for role, _ in whose], [mv.version for _, mv in whose]
        self.found.append({"roles": roles, "versions": versions, "kind": kind, "what": what})


def refuse_training_rows(
    yard: Yard,
    spec: UseCase,
    data: EvaluationData,
    contenders: Sequence[tuple[str, ModelVersion]],
    *,
    allow: str | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Raise :class:`EvaluationError` when ``data`` holds the training rows of a version in
    ``contenders`` (role, version), by its lineage (see the module's docstring for the four tests),
    or when a version's training-row fingerprints cannot be read.

    Return what the row comparison did for each version: ``role``, ``version``, ``status``
    ("compared" or "not made"), a one-line ``note``, and when compared ``found``, ``compared``,
    ``chance``, ``fingerprinted``, ``training_rows`` and ``later`` (rows after its training period).
    With ``allow`` (why the user evaluates anyway) nothing is refused; what would have been is
    returned second, one ``{"roles", "versions", "what"}`` per finding (empty when nothing was)."""
    findings = _Findings(spec, allow)
    evaluated = data.ref.removeprefix("snapshot:") if data.ref.startswith("snapshot:") else None
    same = [(role, mv) for role, mv in contenders if evaluated and mv.snapshot_id == evaluated]
    if evaluated and same:
        findings.add(
            same, f"is snapshot {evaluated[:12]}, which the lineage of {_names(same)} names as training snapshot"
        )

    if len(data.inputs.columns) and any(mv.training_data_hash for _, mv in contenders):
        from modelyard.registry import data_hash

        digest = data_hash(data.inputs)
        fitted = [(role, mv) for role, mv in contenders if mv.training_data_hash == digest]
        if fitted:
            what = f"is the frame {_names(fitted)} learnt from: its inputs hash to the lineage's training_data_hash"
            findings.add(fitted, f"{what} {digest[:12]}")

    _refuse_covered_snapshots(yard, data, contenders, findings)
    return _refuse_fitted_rows(yard, data, contenders, findings), findings.found


def allowed_training_rows_check(
    found: Sequence[dict[str, Any]], row_checks: Sequence[dict[str, Any]], why: str
) -> Check | None:
    """The verdict's word on training rows allowed into the data (``found`` and ``row_checks`` from
    :func:`refuse_training_rows`), or None when nothing was found.

    Rows the challenger learnt from flatter it, so nothing can be promoted on them: the check is
    ``uncertain`` (HOLD at best). So it is when the challenger's own rows were not compared, for
    then nobody knows. Only when they were compared and no more are among the data than chance
    gives does it pass: at most the champion is flattered, which makes a PROMOTE harder to earn.
    """
    if not found:
        return None
    allowed = f"allowed ({why})"
    theirs = [f for f in found if "challenger" in f["roles"] and f["kind"] == "found"]
    cannot = "so this evaluation cannot say PROMOTE; promote with --force --why if you accept that"
    if theirs:
        return Check(
            "training rows",
            "data",
            "uncertain",
            f"The data {theirs[0]['what']}{_more(len(found) - 1)}; {allowed}. Priced on rows it learnt from, "
            f"the challenger looks better than it is, {cannot}",
        )
    first = f"The data {found[0]['what']}{_more(len(found) - 1)}; {allowed}."
    compared = next((c for c in row_checks if c["role"] == "challenger"), None)
    if compared is None or compared["status"] != "compared":
        note = compared["note"] if compared is not None else "no fingerprints"
        return Check(
            "training rows",
            "data",
            "uncertain",
            f"{first} Whether it also holds rows the challenger learnt from was not checked ({note}), {cannot}",
        )
    return Check(
        "training rows",
        "data",
        "pass",
        f"{first} The challenger's own training rows were compared, and no more of them are among it than "
        "chance gives: at most the champion is flattered, which does not stand in the way of a PROMOTE",
    )


def _more(n: int) -> str:
    return f" (and {n} more finding{'s' if n > 1 else ''})" if n else ""


def _refuse_covered_snapshots(
    yard: Yard, data: EvaluationData, contenders: Sequence[tuple[str, ModelVersion]], findings: _Findings
) -> None:
    """Refuse ``data`` when it holds every entity key of a version's training snapshot."""
    key = findings.spec.data.entity_key
    if not key or key not in data.columns.columns:
        return
    keys = pd.Index(data.columns[key].dropna().unique())
    for snapshot_id in dict.fromkeys(mv.snapshot_id for _, mv in contenders if mv.snapshot_id):
        covered = _covered_rows(yard, snapshot_id, key, keys)
        if covered:
            whose = [(role, mv) for role, mv in contenders if mv.snapshot_id == snapshot_id]
            what = f"holds all {covered:,} rows of snapshot {snapshot_id[:12]} (matched by {key})"
            findings.add(whose, f"{what}, which the lineage of {_names(whose)} names as training snapshot")


def _refuse_fitted_rows(
    yard: Yard, data: EvaluationData, contenders: Sequence[tuple[str, ModelVersion]], findings: _Findings
) -> list[dict[str, Any]]:
    """Refuse ``data`` when enough of its rows are among a version's fingerprinted training rows;
    else say, per version, what was compared (or why nothing was)."""
    said: list[dict[str, Any]] = []
    for role, mv in contenders:
        if not mv.training_rows_sha256:
            why = (
                "every row of its training frame occurs more than once, so no row was fingerprinted"
                if mv.training_data_hash
                else "registered without its training frame (training_data)"
            )
            said.append(_row_check(role, mv, "not made", why))
    for blob in dict.fromkeys(mv.training_rows_sha256 for _, mv in contenders if mv.training_rows_sha256):
        whose = [(role, mv) for role, mv in contenders if mv.training_rows_sha256 == blob]
        if not len(data.inputs.columns):  # scores given and no baseline: the rows were not read
            reason = "the data's model inputs were not read: scores given and no baseline"
            said.extend(_row_check(role, mv, "not made", reason) for role, mv in whose)
            continue
        rows = _training_rows(yard, whose, findings.allow)
        if isinstance(rows, str):  # unreadable (the cause), and allowed
            what = f"could not be checked for rows {_names(whose)} learnt from: their fingerprint file cannot be read"
            findings.add(whose, f"{what} ({rows})", "unchecked")
            note = f"the file of its training-row fingerprints cannot be read ({rows})"
            said.extend(_row_check(role, mv, "not made", note) for role, mv in whose)
            continue
        if not rows.comparable:
            reason = "this pandas hashes rows unlike the one that registered it; register it again to compare"
            said.extend(_row_check(role, mv, "not made", reason) for role, mv in whose)
            continue
        missing = [name for name in rows.columns if name not in data.inputs.columns]
        if missing:  # with scores and no baseline, the model inputs are not read
            reason = f"the data's model inputs were not read (no {missing[0]!r}): scores given and no baseline"
            said.extend(_row_check(role, mv, "not made", reason) for role, mv in whose)
            continue
        latest = rows.latest_ns if rows.latest_ns is not None else _snapshot_latest_ns(yard, whose[0][1])
        after = _after_training(data, latest)
        found, compared = rows.matches(data.inputs, after)
        later = int(after.sum()) if after is not None else 0
        if leaks(found, compared, rows.chance):
            of = f"{compared:,} rows" if compared == data.n else f"{compared:,} rows compared"
            findings.add(
                whose,
                f"has {found:,} of its {of} ({found / compared:.0%}) among the {rows.rows:,} rows {_names(whose)} "
                f"{'were' if len(whose) > 1 else 'was'} fitted on, where rows from after the training period would "
                f"match about {rows.chance:.1%} by chance (refused from {LEAK_SHARE:.0%} above that; by the "
                "fingerprints of the training rows' inputs, kept at registration)",
            )
        for role, mv in whose:
            said.append(
                _row_check(
                    role,
                    mv,
                    "compared",
                    f"{found:,} of {compared:,} rows among its {len(rows.unique):,} fingerprinted training rows "
                    f"(of {rows.rows:,}); about {rows.chance:.1%} would match by chance"
                    + (f"; {later:,} rows from after its training period not compared" if later else ""),
                    found=found,
                    compared=compared,
                    chance=rows.chance,
                    fingerprinted=len(rows.unique),
                    training_rows=rows.rows,
                    later=later,
                )
            )
    return said


def _row_check(role: str, mv: ModelVersion, status: str, note: str, **numbers: Any) -> dict[str, Any]:
    return {"role": role, "version": mv.version, "status": status, "note": note, **numbers}


def _snapshot_latest_ns(yard: Yard, mv: ModelVersion) -> int | None:
    """Just before the end of the version's training snapshot's time range (exclusive), when known."""
    if not mv.snapshot_id:
        return None
    from modelyard.data import get_snapshot

    try:
        end = get_snapshot(yard, mv.snapshot_id).range_end
    except NotFoundError:
        return None
    if end is None:
        return None
    stamp = pd.Timestamp(end)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value) - 1


def _after_training(data: EvaluationData, latest: int | None) -> np.ndarray | None:
    """Which rows are dated after ``latest`` (UTC nanoseconds), or None when either is unknown."""
    if latest is None or data.time is None:
        return None
    from modelyard.registry._training_rows import utc_times

    times = utc_times(data.time)
    return (times.notna() & (times > pd.Timestamp(latest, tz="UTC"))).to_numpy()


def leaks(found: int, compared: int, chance: float) -> bool:
    """Whether ``found`` training rows among ``compared`` evaluation rows are too many to be chance:
    at least 10, :data:`LEAK_SHARE` above the ``chance`` share, and 4 binomial deviations above it."""
    expected = compared * chance
    spread = math.sqrt(expected * (1 - chance))
    return (
        found >= _MIN_FOUND
        and found >= (chance + LEAK_SHARE) * compared
        and found - expected >= _SIGNIFICANT_Z * spread
    )


def _training_rows(yard: Yard, whose: Sequence[tuple[str, ModelVersion]], allow: str | None) -> TrainingRows | str:
    """The fingerprints of the training rows of ``whose`` (versions sharing them). When the blob is
    missing or damaged: an :class:`EvaluationError` naming the version, or with ``allow`` the cause
    ("it is missing", "it is damaged")."""
    mv = whose[0][1]
    owner = " and ".join(mv.ref for _, mv in whose)
    try:
        rows = yard.registry.training_rows(mv)
    except (NotFoundError, ArtifactIntegrityError, ValueError) as exc:
        cause = "it is missing" if isinstance(exc, NotFoundError) else "it is damaged"
        if allow is not None:
            return cause
        raise EvaluationError(
            f"The fingerprints of the training rows of {owner} (model_versions.training_rows_sha256 "
            f"{str(mv.training_rows_sha256)[:12]}) cannot be read ({cause}), so the evaluation cannot tell "
            "whether the data holds those rows. Point MODELYARD_ARTIFACTS at the store the version was "
            "registered in or restore that store from a backup; register the model again with its "
            'training_data; or evaluate anyway with --allow-training-rows "WHY" (the result records it)'
        ) from exc
    if rows is None:  # pragma: no cover - only versions with a sha256 are read
        return "it has no training-row fingerprints"
    return rows


def _covered_rows(yard: Yard, snapshot_id: str, key: str, keys: pd.Index) -> int:
    """How many rows the snapshot has when every one of its keys is in ``keys``; else 0.

    Only the key column is read. A snapshot that is gone, or has no such column, is not compared.
    """
    from modelyard.data import get_snapshot

    try:
        snapshot = get_snapshot(yard, snapshot_id)
    except NotFoundError:
        return 0
    if key not in snapshot.columns or not Path(snapshot.path).exists():
        return 0
    trained = pd.read_parquet(snapshot.path, columns=[key])[key].dropna()
    if len(trained) == 0 or not trained.isin(keys).all():
        return 0
    return len(trained)


def _names(whose: Sequence[tuple[str, ModelVersion]]) -> str:
    return " and ".join(f"{mv.ref} ({role})" for role, mv in whose)


def _refuse(spec: UseCase, what: str) -> NoReturn:
    time = spec.data.time
    later = f"the later part from split_by_time(read_snapshot(yard, snapshot), {time!r})" if time else "held-out rows"
    raise EvaluationError(
        f"The evaluation data {what}: scored on rows it learnt from, a model looks better than it is and "
        "the gates would pass on that; evaluate on rows from after the training period (--data, or data= "
        f"in Python): a snapshot built later, or {later}; or, knowing this, evaluate anyway with "
        '--allow-training-rows "WHY" (the result records it, and says PROMOTE only when the rows are '
        "the champion's alone)"
    )
