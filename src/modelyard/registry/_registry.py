"""Registering model versions and moving them through stages, every change audited."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pandas as pd
import sqlalchemy as sa

from modelyard._exceptions import (
    DuplicateRegistrationError,
    IllegalStageChangeError,
    NotFoundError,
    UsageError,
)
from modelyard.artifacts import ArtifactStore, sha256_hex
from modelyard.flavors import (
    ColumnSpec,
    LoadedModel,
    SavedModel,
    Signature,
    infer_signature,
    load_model,
    save_model,
)
from modelyard.registry._lineage import data_hash, git_state, jsonable, model_params
from modelyard.registry._stages import check_move, parse_stage
from modelyard.registry._training_rows import TrainingRows
from modelyard.store import ModelVersion, Stage, StageChange, Store, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from modelyard.spec import UseCase

__all__ = ["Registry", "RegistryListener", "spec_fingerprint"]

T = TypeVar("T")
_RETRIES = 8
_SIGNATURE_SAMPLE_ROWS = 1000


class RegistryListener(Protocol):
    """Told of every registration and stage change, inside the same transaction.

    A listener writes its own tables through ``conn`` (the research board moves an item when its
    model is registered or shipped); if it raises, the whole change is rolled back.
    """

    def on_registered(self, conn: Connection, version: ModelVersion) -> None: ...

    def on_stage_changes(self, conn: Connection, changes: list[StageChange]) -> None: ...


class Registry:
    """Model versions of every use case, in a SQL store plus a content-addressed artifact store.

    A version's row is written only after its artifact is stored in full, in one transaction
    with its first audit entry; stage changes lock the use case, so concurrent promotions queue
    and the database's own unique index keeps one production version per use case.
    """

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        *,
        actor: str,
        listeners: list[RegistryListener] | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.actor = actor
        self.listeners: list[RegistryListener] = list(listeners or [])

    # -- registering -----------------------------------------------------------------------

    def register(
        self,
        use_case: UseCase,
        model: Any,
        *,
        flavor: str | None = None,
        serialization: str | None = None,
        trust: bool = False,
        training_data: pd.DataFrame | None = None,
        training_data_hash: str | None = None,
        snapshot_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        author: str | None = None,
        research_item: str | None = None,
        description: str | None = None,
        threshold: float = 0.5,
        code_folder: Path | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``use_case``, stage ``candidate``.

        Lineage is gathered for you: the training data's hash (when ``training_data`` is given),
        the git commit of ``code_folder`` (the current directory by default), the model's params.
        ``author`` made the model; the audit trail names ``actor`` (the registry's user by default)
        as who registered it.
        """
        _check_threshold(threshold)
        tags = _checked_tags(tags)  # text is checked before any work, so a typo costs nothing
        research_item = research_reference(research_item)
        description = _optional_text("description", description, REASON_MAX)
        saved = save_model(model, flavor=flavor, serialization=serialization, trust=trust)
        sample = training_data.head(_SIGNATURE_SAMPLE_ROWS) if training_data is not None else None
        signature = _signature(model, sample, use_case)
        if training_data is not None and training_data_hash is None:
            training_data_hash = data_hash(training_data)
        training_rows = _training_rows(training_data, use_case)
        git = git_state(code_folder)
        return self.register_saved(
            use_case,
            saved,
            signature=signature,
            params=jsonable(dict(params)) if params is not None else model_params(model),
            tags=tags,
            training_data_hash=training_data_hash,
            training_rows=training_rows,
            snapshot_id=snapshot_id,
            git_commit=git.commit if git else None,
            git_dirty=git.dirty if git else None,
            author=check_audit_text("author", author or self.actor, ACTOR_MAX),
            research_item=research_item,
            description=description,
            threshold=threshold,
            actor=actor,
        )

    def training_rows(self, mv: ModelVersion) -> TrainingRows | None:
        """The fingerprints of ``mv``'s training rows, or None when it was registered without a frame
        (or before modelyard kept them)."""
        if not mv.training_rows_sha256:
            return None
        return TrainingRows.from_bytes(self.artifacts.get(mv.training_rows_sha256))

    def register_saved(
        self,
        use_case: UseCase,
        saved: SavedModel,
        *,
        signature: dict[str, Any],
        author: str,
        actor: str | None = None,
        threshold: float = 0.5,
        params: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        training_rows: TrainingRows | None = None,
        **lineage: Any,
    ) -> ModelVersion:
        """Register an already-serialised model. The artifact (and the fingerprints of the training
        rows, when given) are stored before any row is written. ``author`` is who made the model;
        the audit trail names ``actor`` (the registry's user by default) as who registered it."""
        _check_threshold(threshold)
        who = check_audit_text("actor", actor or self.actor, ACTOR_MAX)
        name = use_case.name
        spec_text, spec_sha256 = spec_fingerprint(use_case)
        with self.store.reading() as conn:
            self._refuse_duplicate(conn, name, saved.payload)
        if training_rows is not None:
            lineage["training_rows_sha256"] = self.artifacts.put(training_rows.to_bytes())
        # The artifact is complete on disk before any row points at it: a crash from here to the
        # commit leaves at most an unreferenced blob, never a version without its model.
        digest = self.artifacts.put(saved.payload)

        def write(conn: Connection) -> ModelVersion:
            now = utcnow()
            Store.save_use_case(conn, name, spec_sha256, spec_text, now)
            Store.lock_use_case(conn, name)
            self._refuse_duplicate(conn, name, saved.payload, digest)
            version = Store.next_version(conn, name)
            row = Store.insert_version(
                conn,
                {
                    "use_case": name,
                    "version": version,
                    "stage": Stage.CANDIDATE.value,
                    "flavor": saved.flavor,
                    "format": saved.format,
                    "artifact_uri": self.artifacts.uri(digest),
                    "artifact_sha256": digest,
                    "artifact_size": len(saved.payload),
                    "flavor_metadata": jsonable(saved.metadata),
                    "signature": signature,
                    "params": params or {},
                    "tags": tags or {},
                    "spec_sha256": spec_sha256,
                    "author": author,
                    "threshold": float(threshold),
                    "created_at": now,
                    **lineage,
                },
            )
            Store.append_stage_change(
                conn,
                {
                    "use_case": name,
                    "version": version,
                    "from_stage": None,
                    "to_stage": Stage.CANDIDATE.value,
                    "actor": who,
                    "reason": "registered",
                    "at": now,
                },
            )
            for listener in self.listeners:
                listener.on_registered(conn, row)
            return row

        return self._write_with_retry(write)

    def _refuse_duplicate(self, conn: Connection, name: str, payload: bytes, digest: str | None = None) -> None:
        digest = digest or sha256_hex(payload)
        existing = Store.find_by_sha256(conn, name, digest)
        if existing is not None:
            raise DuplicateRegistrationError(
                f"This model is already registered as {existing.ref} (artifact sha256 {digest[:12]}…); "
                f"nothing was added. Use {existing.ref}, or change the model to register a new version"
            )

    # -- reading ---------------------------------------------------------------------------

    def versions(self, use_case: str | None = None, stage: Stage | str | None = None) -> list[ModelVersion]:
        """Every version, optionally of one use case and/or in one stage."""
        wanted = parse_stage(stage) if stage is not None else None
        with self.store.reading() as conn:
            return Store.list_versions(conn, use_case, wanted)

    def version(self, use_case: str, ref: int | str) -> ModelVersion:
        """One version by number (``3``, ``"v3"``) or by stage (``"production"``, ``"canary"``, ``"latest"``)."""
        with self.store.reading() as conn:
            return _resolve(conn, use_case, ref)

    def load(self, use_case: str, ref: int | str, *, trust: bool = False) -> LoadedModel:
        """The version's model, ready to score; its artifact's checksum is verified first."""
        mv = self.version(use_case, ref)
        payload = self.artifacts.get(mv.artifact_sha256)
        saved = SavedModel(flavor=mv.flavor, format=mv.format, payload=payload, metadata=mv.flavor_metadata)
        return load_model(saved, trust=trust)

    def history(self, use_case: str, version: int | str | None = None) -> list[StageChange]:
        """The audit trail of a use case (or of one of its versions), oldest first."""
        with self.store.reading() as conn:
            if Store.get_use_case(conn, use_case) is None:
                raise _unknown_use_case(conn, use_case)
            number = _resolve(conn, use_case, version).version if version is not None else None
            return Store.list_stage_changes(conn, use_case, number)

    # -- stage changes ---------------------------------------------------------------------

    def transition(
        self,
        use_case: str,
        ref: int | str,
        stage: Stage | str,
        *,
        reason: str,
        actor: str | None = None,
        evaluation_id: str | None = None,
        expected_production: int | None = None,
    ) -> list[StageChange]:
        """Move a version to ``stage``. Promoting to production archives the current one in the same
        transaction. Returns the audit entries written.

        ``expected_production``: refuse the move unless this is still the production version once the
        use case is locked (the champion an evaluation justifying the move was run against)."""
        target = parse_stage(stage)
        reason = check_reason(reason)
        who = check_audit_text("actor", actor or self.actor, ACTOR_MAX)

        def write(conn: Connection) -> list[StageChange]:
            if not Store.lock_use_case(conn, use_case):
                raise _unknown_use_case(conn, use_case)
            mv = _resolve(conn, use_case, ref)
            check_move(mv.ref, mv.stage, target)
            start = len(Store.list_stage_changes(conn, use_case))
            now = utcnow()
            replaced: int | None = None
            if target == Stage.PRODUCTION:
                live = Store.list_versions(conn, use_case, Stage.PRODUCTION)
                if expected_production is not None and [v.version for v in live] != [expected_production]:
                    now_live = f"v{live[0].version}" if live else "no version"
                    raise IllegalStageChangeError(
                        f"{use_case}'s production version changed while {mv.ref} was being promoted: the evaluation "
                        f"compared it with v{expected_production}, and production is now {now_live}; "
                        f"evaluate {mv.ref} against the new production version, then promote it"
                    )
                for current in live:
                    replaced = current.version
                    _move(conn, current, Stage.ARCHIVED, who, f"replaced by v{mv.version}: {reason}", now)
            elif target == Stage.CANARY:
                for current in Store.list_versions(conn, use_case, Stage.CANARY):
                    raise IllegalStageChangeError(
                        f"{current.ref} is already the canary of {use_case}; move it to shadow or "
                        f"candidate first (modelyard stage {use_case} {current.version} candidate)"
                    )
            _move(conn, mv, target, who, reason, now, evaluation_id=evaluation_id, replaced=replaced)
            return self._notify(conn, Store.list_stage_changes(conn, use_case)[start:])

        return self._write_with_retry(write)

    def promote(self, use_case: str, ref: int | str, *, reason: str, actor: str | None = None) -> list[StageChange]:
        """Make a version the production version (the old one becomes archived)."""
        return self.transition(use_case, ref, Stage.PRODUCTION, reason=reason, actor=actor)

    def rollback(
        self, use_case: str, *, reason: str, actor: str | None = None, retire: bool = False
    ) -> list[StageChange]:
        """Bring back the version the current production version replaced.

        The current one becomes archived, or retired (final) with ``retire=True``.
        """
        reason = check_reason(reason)
        who = check_audit_text("actor", actor or self.actor, ACTOR_MAX)

        def write(conn: Connection) -> list[StageChange]:
            if not Store.lock_use_case(conn, use_case):
                raise _unknown_use_case(conn, use_case)
            current = Store.list_versions(conn, use_case, Stage.PRODUCTION)
            if not current:
                raise IllegalStageChangeError(f"{use_case} has no production version; nothing to roll back")
            prod = current[0]
            trail = Store.list_stage_changes(conn, use_case, prod.version)
            arrival = next(c for c in reversed(trail) if c.to_stage == Stage.PRODUCTION)
            if arrival.reason.startswith(_ROLLBACK):
                raise IllegalStageChangeError(
                    f"{prod.ref} came back by a rollback from v{arrival.replaced_version}; rolling back again "
                    f"would bring v{arrival.replaced_version} back, which was rolled back from. Promote the version "
                    f"you want instead (modelyard promote {use_case} VERSION)"
                )
            if arrival.replaced_version is None:
                raise IllegalStageChangeError(
                    f"{prod.ref} replaced no earlier production version, so there is nothing to roll back "
                    f"to; promote a version instead (modelyard promote {use_case} VERSION)"
                )
            previous = Store.get_version(conn, use_case, arrival.replaced_version)
            assert previous is not None  # versions are never deleted
            if previous.stage != Stage.ARCHIVED:
                raise IllegalStageChangeError(
                    f"{previous.ref}, which {prod.ref} replaced, is now {previous.stage.value} and cannot "
                    f"come back; promote a version instead (modelyard promote {use_case} VERSION)"
                )
            start = len(Store.list_stage_changes(conn, use_case))
            now = utcnow()
            leaving = Stage.RETIRED if retire else Stage.ARCHIVED
            _move(conn, prod, leaving, who, f"rolled back: {reason}", now)
            _move(conn, previous, Stage.PRODUCTION, who, f"{_ROLLBACK}{reason}", now, replaced=prod.version)
            return self._notify(conn, Store.list_stage_changes(conn, use_case)[start:])

        return self._write_with_retry(write)

    def _notify(self, conn: Connection, changes: list[StageChange]) -> list[StageChange]:
        for listener in self.listeners:
            listener.on_stage_changes(conn, changes)
        return changes

    def _write_with_retry(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; retry when a concurrent writer won a race."""
        for attempt in range(_RETRIES):
            try:
                with self.store.writing() as conn:
                    return work(conn)
            except sa.exc.IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
            except sa.exc.DBAPIError as exc:  # serialization failure or deadlock on PostgreSQL
                code = getattr(exc.orig, "sqlstate", None)
                if code not in ("40001", "40P01") or attempt == _RETRIES - 1:
                    raise
            time.sleep(0.02 * (2**attempt))
        raise AssertionError("unreachable")


def _training_rows(training_data: pd.DataFrame | None, use_case: UseCase) -> TrainingRows | None:
    """The fingerprints of the training rows (see :mod:`._training_rows`), or None when there is no
    frame with the spec's inputs to take them from, or no row occurs only once in it."""
    if not isinstance(training_data, pd.DataFrame) or len(training_data) == 0:
        return None
    columns = [name for name in use_case.input_names if name in training_data.columns]
    if not columns:
        return None
    types = {f.name: str(f.type) for f in use_case.inputs if f.name in columns}
    rows = TrainingRows.of(training_data, columns, types, use_case.data.time)
    return rows if len(rows.unique) else None


def _signature(model: Any, sample: pd.DataFrame | None, use_case: UseCase) -> dict[str, Any]:
    """The model's own signature; when it names no inputs and no sample is given, the spec's contract."""
    try:
        return infer_signature(model, sample).to_dict()
    except UsageError:
        if sample is not None:
            raise
    return Signature(
        inputs=tuple(ColumnSpec(f.name, str(f.type)) for f in use_case.inputs),
        outputs=tuple(ColumnSpec(o.name, str(o.type)) for o in use_case.outputs),
    ).to_dict()


def _move(
    conn: Connection,
    mv: ModelVersion,
    target: Stage,
    actor: str,
    reason: str,
    now: Any,
    *,
    evaluation_id: str | None = None,
    replaced: int | None = None,
) -> None:
    Store.set_stage(conn, mv.use_case, mv.version, target)
    Store.append_stage_change(
        conn,
        {
            "use_case": mv.use_case,
            "version": mv.version,
            "from_stage": mv.stage.value,
            "to_stage": target.value,
            "actor": actor,
            "reason": reason,
            "at": now,
            "evaluation_id": evaluation_id,
            "replaced_version": replaced,
        },
    )


def _resolve(conn: Connection, use_case: str, ref: int | str) -> ModelVersion:
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise UsageError(
            f"The 'ref' parameter must be a version number (3 or 'v3'), a stage name or 'latest'. Got {ref!r} instead."
        )
    versions = Store.list_versions(conn, use_case)
    if not versions:
        if Store.get_use_case(conn, use_case) is None:
            raise _unknown_use_case(conn, use_case)
        raise NotFoundError(f"{use_case} has no registered versions yet; register one with 'modelyard register'")
    text = str(ref).strip().lower()
    if text == "latest":
        return versions[-1]
    if text in {s.value for s in Stage}:
        found = [v for v in versions if v.stage.value == text]
        if not found:
            raise NotFoundError(f"{use_case} has no version in stage {text}")
        if len(found) > 1:  # shadow, archived and retired hold several: which one is meant is not ours to guess
            numbers = ", ".join(f"v{v.version}" for v in found)
            raise UsageError(f"{use_case} has {len(found)} versions in stage {text} ({numbers}); name one by number")
        return found[0]
    number = text.removeprefix("v")
    if not (number.isascii() and number.isdigit()):  # '²'.isdigit() is True, and int('²') fails
        raise UsageError(f"'{ref}' is not a version; use a number (3 or v3), a stage name (production) or latest")
    for v in versions:
        if v.version == int(number):
            return v
    known = ", ".join(f"v{v.version}" for v in versions)
    raise NotFoundError(f"{use_case} has no version {ref}; it has {known}")


def _unknown_use_case(conn: Connection, name: str) -> NotFoundError:
    known = [u.name for u in Store.list_use_cases(conn)]
    hint = f"known: {', '.join(known)}" if known else "no model has been registered yet"
    return NotFoundError(f"No use case '{name}' in the registry ({hint})")


_ROLLBACK = "rollback: "
"""How the audit trail's reason starts when a version comes back to production by a rollback."""

REASON_MAX = 2_000
"""Characters a stage change's reason may hold (the audit trail shows it in every history)."""

ACTOR_MAX = 128
"""Characters of an author's or actor's name (model_versions.author, stage_changes.actor)."""

RESEARCH_ITEM_MAX = 64
"""Characters of a version's research reference (model_versions.research_item)."""


def check_reason(reason: str) -> str:
    """``reason`` stripped, for the audit trail: text, not empty, no control characters, at most
    :data:`REASON_MAX` characters; else a :class:`UsageError` saying so."""
    if not isinstance(reason, str):
        raise UsageError(f"The 'reason' parameter must be text (str). Got {reason!r} instead.")
    if not reason.strip():
        raise UsageError('A stage change needs a reason (--reason "..."); the audit trail records it')
    return check_audit_text("reason", reason.strip(), REASON_MAX)


TAG_KEY_MAX = 200
"""Characters of a tag's name; its value may hold :data:`REASON_MAX`."""

_ITEM_REFERENCE = re.compile(r"\s*RI-?(\d+)\s*", re.IGNORECASE | re.ASCII)


def research_reference(value: str | None) -> str | None:
    """A version's ``research_item``: a board id in its one spelling (``ri-7`` → ``RI-7``, so the
    board finds it), or any other reference (a tracker key, a paper) as written, checked as text."""
    text = _optional_text("research_item", value, RESEARCH_ITEM_MAX)
    if text is None:
        return None
    match = _ITEM_REFERENCE.fullmatch(text)
    return f"RI-{int(match.group(1))}" if match else text


def _optional_text(name: str, value: str | None, most: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"The {name!r} parameter must be text (str). Got {value!r} instead.")
    return check_audit_text(name, value.strip(), most) or None


def _checked_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise UsageError(f"The 'tags' parameter must be a mapping of name to value. Got {tags!r} instead.")
    out: dict[str, str] = {}
    for key, value in tags.items():
        name = check_audit_text("tag name", str(key), TAG_KEY_MAX)
        if not name.strip():
            raise UsageError(f"A tag needs a name; got an empty one for the value {value!r}")
        out[name] = check_audit_text(f"value of tag {name!r}", str(value), REASON_MAX)
    return out


def check_audit_text(name: str, value: str, most: int) -> str:
    """``value`` for the audit trail: no control characters (NUL, which PostgreSQL refuses, or a
    terminal escape that would rewrite a screen showing the history) and at most ``most`` characters."""
    bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n"), None)
    if bad is not None:
        raise UsageError(
            f"The {name} holds the control character {bad!r} at position {value.index(bad)}; write plain text"
        )
    if len(value) > most:
        raise UsageError(f"The {name} is {len(value):,} characters long; keep it to {most:,}")
    return value


def _check_threshold(threshold: float) -> None:
    if not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
        raise UsageError(f"The 'threshold' parameter must be in [0, 1]. Got {threshold!r} instead.")


def spec_fingerprint(use_case: UseCase) -> tuple[str, str]:
    """The spec as the registry records it: its file's text (or canonical JSON when it was built in
    code) and that text's sha256."""
    path = getattr(use_case, "source_path", None)
    if path is not None and Path(path).exists():
        text = Path(path).read_text(encoding="utf-8")
    else:
        import json

        text = json.dumps(use_case.to_yaml_dict(), sort_keys=True)
    return text, use_case.sha256 or sha256_hex(text.encode())
