"""The yard: a project's use cases, registry and artifacts behind one object (the Python API)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from modelyard._exceptions import SpecError, UsageError
from modelyard._importing import make_importable
from modelyard._settings import Settings, load_settings
from modelyard.artifacts import ArtifactStore, open_artifact_store
from modelyard.flavors import LoadedModel
from modelyard.flavors._sklearn import compiled_scoring
from modelyard.registry import Registry
from modelyard.spec import UseCase, find_use_case, load_use_case
from modelyard.store import ModelVersion, Stage, StageChange, Store

__all__ = ["UseCaseSummary", "Yard", "open_yard"]


@dataclass(frozen=True)
class UseCaseSummary:
    """A use case at a glance: its spec and where its versions stand."""

    name: str
    task: str | None
    description: str | None
    spec_path: str | None
    versions: int
    production: int | None
    canary: int | None
    shadows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["shadows"] = list(self.shadows)
        return data


class Yard:
    """A modelyard project, for notebooks and scripts::

        yard = modelyard.open_yard()
        mv = yard.register("churn", model, training_data=X_train)
        yard.promote("churn", mv.version, reason="beats v1 on expected cost")

    Specs come from ``usecases/``; versions and the audit trail from the registry database
    (``MODELYARD_DATABASE_URL``, a SQLite file under ``.modelyard/`` by default).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        make_importable(self.settings.root)  # the feature code and module:function models may live there
        self.store = Store(self.settings.resolved_database_url())
        self.artifacts: ArtifactStore = open_artifact_store(self.settings.resolved_artifacts())
        self.registry = Registry(self.store, self.artifacts, actor=self.settings.author)
        from modelyard.board import BoardListener  # the board's automatic moves ride on registry changes

        self.registry.listeners.append(BoardListener())

    def __enter__(self) -> Yard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        return f"Yard(root={str(self.settings.root)!r}, store={self.store.url!r})"

    # -- use cases -------------------------------------------------------------------------

    @property
    def usecases_folder(self) -> Path:
        return self.settings.resolved_usecases()

    def use_case(self, name: str | UseCase) -> UseCase:
        """The validated spec ``usecases/<name>.yaml``."""
        if isinstance(name, UseCase):
            return name
        return load_use_case(find_use_case(self.usecases_folder, _use_case_name(name)))

    def use_cases(self) -> list[UseCaseSummary]:
        """Every use case with a spec file or registered versions, and where its versions stand."""
        specs: dict[str, UseCase | None] = {}
        broken: dict[str, str] = {}
        folder = self.usecases_folder
        if folder.is_dir():
            for path in sorted(folder.glob("*.y*ml")):
                try:
                    specs[path.stem] = load_use_case(path)
                except SpecError as exc:  # listed, not fatal: 'usecase validate' shows the problems
                    specs[path.stem] = None
                    broken[path.stem] = (
                        f"invalid spec ({len(exc.issues)} problem(s)): run modelyard usecase validate {path}"
                    )
        versions = self.registry.versions()
        for mv in versions:
            specs.setdefault(mv.use_case, None)
        summaries = []
        for name, spec in sorted(specs.items()):
            mine = [v for v in versions if v.use_case == name]
            summaries.append(
                UseCaseSummary(
                    name=name,
                    task=spec.task if spec else None,
                    description=spec.description if spec else broken.get(name),
                    spec_path=str(spec.source_path) if spec and spec.source_path else None,
                    versions=len(mine),
                    production=next((v.version for v in mine if v.stage == Stage.PRODUCTION), None),
                    canary=next((v.version for v in mine if v.stage == Stage.CANARY), None),
                    shadows=tuple(v.version for v in mine if v.stage == Stage.SHADOW),
                )
            )
        return summaries

    # -- the registry ----------------------------------------------------------------------

    def register(self, use_case: str | UseCase, model: Any, **lineage: Any) -> ModelVersion:
        """Register ``model`` as the next candidate of ``use_case``; see :meth:`Registry.register`.

        ``model`` is a model object, or, as on the command line, the path of a model file or a
        ``module:function`` import path. ``training_data`` may be a DataFrame or a Parquet/CSV path,
        and ``snapshot_id`` a :class:`~modelyard.data.Snapshot` or its id (a unique prefix will do).
        """
        spec = self.use_case(_use_case_name(use_case))
        if isinstance(model, str | Path):
            from modelyard.registry import read_model_file

            model, detected = read_model_file(str(model), trust=bool(lineage.get("trust", False)))
            if detected and lineage.get("flavor") is None:
                lineage["flavor"] = detected
        data = lineage.get("training_data")
        if isinstance(data, str | Path):
            from modelyard.registry import read_table

            lineage["training_data"] = read_table(Path(data))
        elif data is not None and not isinstance(data, pd.DataFrame):
            raise UsageError(
                "The 'training_data' parameter must be a pandas DataFrame or a Parquet/CSV path. "
                f"Got {type(data).__name__} instead."
            )
        tags = lineage.get("tags")
        if tags is not None and not isinstance(tags, Mapping):
            raise UsageError(f"The 'tags' parameter must be a mapping of names to values. Got {tags!r} instead.")
        if lineage.get("snapshot_id") is not None:
            from modelyard.data import get_snapshot

            snap = get_snapshot(self, lineage["snapshot_id"])
            if snap.use_case != spec.name:
                raise UsageError(
                    f"Snapshot {snap.short_id} is of use case {snap.use_case!r}, not {spec.name!r}; "
                    "give the snapshot this model was trained on"
                )
            lineage["snapshot_id"] = snap.id
        return self.registry.register(spec, model, **lineage)

    def models(self, use_case: str | UseCase | None = None, stage: Stage | str | None = None) -> list[ModelVersion]:
        """Registered versions, optionally of one use case or stage."""
        name = None if use_case is None else _use_case_name(use_case)
        return self.registry.versions(name, stage)

    def model(self, use_case: str | UseCase, ref: int | str = "latest") -> ModelVersion:
        """One version: a number (3, "v3"), a stage ("production") or "latest"."""
        return self.registry.version(_use_case_name(use_case), ref)

    def load(self, use_case: str | UseCase, ref: int | str = "production", *, trust: bool = False) -> LoadedModel:
        """A version's model, checksum-verified and ready to ``score(frame)``."""
        with compiled_scoring(self.settings.sklearn_compiled):
            return self.registry.load(_use_case_name(use_case), ref, trust=trust)

    def transition(
        self,
        use_case: str | UseCase,
        ref: int | str,
        stage: Stage | str,
        *,
        reason: str,
        force: bool = False,
        why: str | None = None,
        **kw: Any,
    ) -> list[StageChange]:
        """Move a version to another stage (audited).

        Into production only with a stored PROMOTE evaluation against the current production
        version (none is needed for the first one), or with ``force=True`` and a ``why``, which the
        audit trail records. ``yard.registry`` moves versions without this policy.
        """
        from modelyard.registry import check_move, parse_stage
        from modelyard.registry._registry import REASON_MAX, check_reason

        use_case = _use_case_name(use_case)
        target = parse_stage(stage)
        reason = check_reason(reason)  # every change needs one, forced or not
        if target == Stage.PRODUCTION:
            mv = self.registry.version(use_case, ref)
            check_move(mv.ref, mv.stage, target)  # before the evaluation: a retired version is final either way
            if force:
                reason = _forced_reason(reason, why, REASON_MAX)
            elif self.registry.versions(use_case, Stage.PRODUCTION):
                from modelyard.evaluate import require_passing_evaluation

                passing = require_passing_evaluation(self, use_case, ref)
                kw.setdefault("evaluation_id", passing.id)
                kw.setdefault("expected_production", passing.champion_version)  # checked again under the lock
        return self.registry.transition(use_case, ref, target, reason=reason, **kw)

    def promote(
        self,
        use_case: str | UseCase,
        ref: int | str,
        *,
        reason: str,
        force: bool = False,
        why: str | None = None,
        **kw: Any,
    ) -> list[StageChange]:
        """Make a version the production version; the current one is archived in the same step.

        Needs a passing evaluation against the current production version, or ``force`` with ``why``.
        """
        return self.transition(use_case, ref, Stage.PRODUCTION, reason=reason, force=force, why=why, **kw)

    def evaluate(self, use_case: str | UseCase, challenger: int | str, **options: Any) -> Any:
        """The business evaluation of ``challenger`` against production; see :func:`modelyard.evaluate.evaluate`."""
        from modelyard.evaluate import evaluate

        return evaluate(self, _use_case_name(use_case), challenger, **options)

    def rollback(self, use_case: str | UseCase, *, reason: str, **kw: Any) -> list[StageChange]:
        """Bring back the production version the current one replaced."""
        return self.registry.rollback(_use_case_name(use_case), reason=reason, **kw)

    def history(self, use_case: str | UseCase, ref: int | str | None = None) -> list[StageChange]:
        """The audit trail, oldest first."""
        return self.registry.history(_use_case_name(use_case), ref)

    # -- data, checks and evaluations, for notebooks (each the same function the CLI calls) --

    def snapshot(self, use_case: str | UseCase, **options: Any) -> Any:
        """Snapshot production data through the feature code; see :func:`modelyard.data.build_snapshot`
        (``start=``, ``end=``: datetimes, dates or ISO strings)."""
        from modelyard.data import build_snapshot

        return build_snapshot(self, _use_case_name(use_case), **options)

    def snapshots(self, use_case: str | UseCase | None = None) -> list[Any]:
        """The snapshots taken, optionally of one use case, oldest first."""
        from modelyard.data import list_snapshots

        return list_snapshots(self, None if use_case is None else _use_case_name(use_case))

    def read_snapshot(self, ref: Any) -> pd.DataFrame:
        """A snapshot's rows, by id (a unique prefix will do) or :class:`~modelyard.data.Snapshot`."""
        from modelyard.data import read_snapshot

        return read_snapshot(self, ref)

    def check(self, use_case: str | UseCase, model: Any = "latest", **options: Any) -> Any:
        """The handoff check of a version (or a model object or file); see :func:`modelyard.check.run_check`."""
        from modelyard.check import run_check

        return run_check(self, use_case, model, **options)

    def evaluations(self, use_case: str | UseCase, challenger: int | str | None = None) -> list[Any]:
        """Stored evaluations of a use case (or of one challenger version), oldest first."""
        name = _use_case_name(use_case)
        number = self.model(name, challenger).version if challenger is not None else None
        with self.store.reading() as conn:
            return Store.list_evaluations(conn, name, number)


def _forced_reason(reason: str, why: str | None, most: int) -> str:
    """The audit reason of a forced promotion: the reason, and why the evaluation was skipped."""
    from modelyard.registry._registry import check_audit_text

    if not isinstance(why, str) or not why.strip():
        raise UsageError(
            'Forcing a promotion needs a reason for skipping the evaluation: why="..." '
            '(on the command line, --why "...")'
        )
    why = check_audit_text("why (--why)", why.strip(), most)
    text = f"{reason} [forced without a passing evaluation: {why}]"
    if len(text) > most:
        raise UsageError(
            f"The reason ({len(reason):,} characters) and the why ({len(why):,}) make an audit entry of "
            f"{len(text):,} characters; keep them to {most - len(text) + len(reason) + len(why):,} together"
        )
    return text


def _use_case_name(value: object) -> str:
    """The name behind a ``use_case`` argument: a name, or a :class:`UseCase`."""
    if isinstance(value, UseCase):
        return value.name
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"The 'use_case' parameter must be a use-case name (str) or a UseCase. Got {value!r} instead.")
    return value


def open_yard(root: str | Path | None = None, **settings: Any) -> Yard:
    """Open the yard in ``root``: by default the nearest folder from the current one upward that holds
    ``usecases/`` or ``.modelyard/``, else the current folder. Keyword settings override ``MODELYARD_*``."""
    if root is None and "root" in settings:
        root = settings.pop("root")
    unknown = [name for name in settings if name not in Settings.model_fields]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(Settings.model_fields), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"{unknown[0]!r} is not a setting; {hint}settings are " + ", ".join(sorted(Settings.model_fields))
        )
    if root is not None:
        if not isinstance(root, str | Path):
            raise UsageError(f"The 'root' parameter must be a folder path (str or Path). Got {root!r} instead.")
        if not Path(root).expanduser().is_dir():
            raise UsageError(f"The 'root' parameter must be an existing folder. Got {str(root)!r} instead.")
    return Yard(load_settings(Path(root) if root is not None else None, **settings))
