"""Refuse evaluation data a compared version learnt from: scored on its own training rows, it looks
better than it is, and the gates would pass on that.

The lineage says what each version learnt from: ``snapshot_id`` (the snapshot its training rows
were taken from) and ``training_data_hash`` (a hash of the frame it was fitted on). For the
challenger and the champion alike, the evaluation data is refused when it

- *is* that snapshot (``data=<snapshot id>``, ``--data <snapshot id>``);
- is the training frame itself (its model inputs hash to ``training_data_hash``);
- holds every entity key of that snapshot (the snapshot as a file or frame, or a later rebuild of
  the source that grew from it), so every training row is among the evaluation rows;
- has :data:`LEAK_SHARE` of its rows or more among the rows the version was fitted on, by the
  fingerprints of its training rows kept at registration (a random split of the training frame,
  training rows mixed into fresh ones). Only rows that occur once in training are fingerprinted,
  so rows that any customer might send (defaults, a few yes/no inputs) do not count.

Sharing only some entity keys with the snapshot is allowed: the lineage's snapshot is where the
training rows came from, and a time split keeps its later rows for evaluation (``split_by_time``,
as the demo does), so a partial overlap of keys says nothing about leakage by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pandas as pd

from modelyard._exceptions import NotFoundError
from modelyard.evaluate._data import EvaluationData
from modelyard.evaluate._errors import EvaluationError
from modelyard.spec import UseCase
from modelyard.store import ModelVersion

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["LEAK_SHARE", "refuse_training_rows"]

LEAK_SHARE = 0.10
"""Share of the evaluation rows found among a version's training rows from which the data is refused."""
_MIN_FOUND = 10


def refuse_training_rows(
    yard: Yard, spec: UseCase, data: EvaluationData, contenders: Sequence[tuple[str, ModelVersion]]
) -> None:
    """Raise :class:`EvaluationError` when ``data`` holds the training rows of a version in
    ``contenders`` (role, version), by its lineage; see the module's docstring for the four tests."""
    evaluated = data.ref.removeprefix("snapshot:") if data.ref.startswith("snapshot:") else None
    same = [(role, mv) for role, mv in contenders if evaluated and mv.snapshot_id == evaluated]
    if evaluated and same:
        _refuse(spec, f"is snapshot {evaluated[:12]}, which the lineage of {_names(same)} names as training snapshot")

    if len(data.inputs.columns) and any(mv.training_data_hash for _, mv in contenders):
        from modelyard.registry import data_hash

        digest = data_hash(data.inputs)
        fitted = [(role, mv) for role, mv in contenders if mv.training_data_hash == digest]
        if fitted:
            what = f"is the frame {_names(fitted)} learnt from: its inputs hash to the lineage's training_data_hash"
            _refuse(spec, f"{what} {digest[:12]}")

    _refuse_covered_snapshots(yard, spec, data, contenders)
    _refuse_fitted_rows(yard, spec, data, contenders)


def _refuse_covered_snapshots(
    yard: Yard, spec: UseCase, data: EvaluationData, contenders: Sequence[tuple[str, ModelVersion]]
) -> None:
    """Refuse ``data`` when it holds every entity key of a version's training snapshot."""
    key = spec.data.entity_key
    if not key or key not in data.columns.columns:
        return
    keys = pd.Index(data.columns[key].dropna().unique())
    for snapshot_id in dict.fromkeys(mv.snapshot_id for _, mv in contenders if mv.snapshot_id):
        covered = _covered_rows(yard, snapshot_id, key, keys)
        if covered:
            whose = [(role, mv) for role, mv in contenders if mv.snapshot_id == snapshot_id]
            what = f"holds all {covered:,} rows of snapshot {snapshot_id[:12]} (matched by {key})"
            _refuse(spec, f"{what}, which the lineage of {_names(whose)} names as training snapshot")


def _refuse_fitted_rows(
    yard: Yard, spec: UseCase, data: EvaluationData, contenders: Sequence[tuple[str, ModelVersion]]
) -> None:
    """Refuse ``data`` when enough of its rows are among a version's fingerprinted training rows."""
    for blob in dict.fromkeys(mv.training_rows_sha256 for _, mv in contenders if mv.training_rows_sha256):
        whose = [(role, mv) for role, mv in contenders if mv.training_rows_sha256 == blob]
        try:
            rows = yard.registry.training_rows(whose[0][1])
        except (NotFoundError, ValueError):  # the blob is gone or damaged: nothing to compare with
            continue
        if rows is None:
            continue
        found, compared = rows.matches(data.inputs)
        if found >= _MIN_FOUND and found >= LEAK_SHARE * compared:
            of = f"{compared:,} rows" if compared == data.n else f"{compared:,} rows compared"
            _refuse(
                spec,
                f"has {found:,} of its {of} ({found / compared:.0%}) among the {rows.rows:,} rows "
                f"{_names(whose)} {'were' if len(whose) > 1 else 'was'} fitted on (by the fingerprints of the "
                "training rows' inputs, kept at registration)",
            )


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
        f"in Python): a snapshot built later, or {later}"
    )
