"""What each use case serves, read from the registry, and kept current while the server runs.

A :class:`Deployment` is derived from stages: the production version, the canary (if any) and the
shadows, each a :class:`Slot` holding its loaded model. :meth:`Deployments.refresh` reads the
registry (one query for every version) and rebuilds only the use cases whose versions, stages or
thresholds changed; models already loaded are reused, so promoting a shadow costs no load. The swap
is one dictionary assignment: a request holds the deployment it started with until it is answered.

The canary's share of traffic is the use case's newest ``traffic_splits`` row (set by
:meth:`Deployments.set_split`) while the canary it was set for is still the canary, else the
server's default: a share chosen for one version is not handed to the next. It lives in the registry
database, so every worker and replica applies a change at its next poll, and it outlives restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelyard._exceptions import ModelyardError, NotFoundError
from modelyard._yard import Yard
from modelyard.flavors import LoadedModel
from modelyard.serve._routing import TrafficSplit
from modelyard.serve._validate import RequestContract
from modelyard.spec import UseCase
from modelyard.store import ModelVersion, Stage, Store, utcnow

__all__ = ["Deployment", "Deployments", "Slot"]

_logger = logging.getLogger("modelyard.serve")

ROLES = {Stage.PRODUCTION: "production", Stage.CANARY: "canary", Stage.SHADOW: "shadow"}


@dataclass
class Slot:
    """One deployed version in one role; ``batcher`` is attached by the service."""

    use_case: str
    version: int
    role: str
    threshold: float
    model: LoadedModel
    batcher: Any = None

    @property
    def key(self) -> tuple[str, int, str, float]:
        return (self.use_case, self.version, self.role, self.threshold)


@dataclass
class Deployment:
    """Per use case: who answers (production, canary) and who listens (shadows)."""

    use_case: UseCase
    contract: RequestContract
    production: Slot | None
    canary: Slot | None = None
    shadows: tuple[Slot, ...] = ()
    fingerprint: tuple[Any, ...] = field(default=())
    canary_fraction: float = 0.0

    @property
    def name(self) -> str:
        return self.use_case.name

    def slots(self) -> list[Slot]:
        return [s for s in (self.production, self.canary, *self.shadows) if s is not None]

    def slot(self, version: int) -> Slot:
        for s in self.slots():
            if s.version == version:
                return s
        raise NotFoundError(
            f"Version {version} of use case {self.name!r} is not deployed; deployed: "
            + (", ".join(f"v{s.version} ({s.role})" for s in self.slots()) or "none")
            + ". Send it to shadow, canary or production first, or leave out the version."
        )

    def describe(self) -> dict[str, Any]:
        return {
            "use_case": self.name,
            "production": self.production.version if self.production else None,
            "canary": self.canary.version if self.canary else None,
            "canary_fraction": self.canary_fraction,
            "shadows": [s.version for s in self.shadows],
            "thresholds": {str(s.version): s.threshold for s in self.slots()},
        }


def _fingerprint(versions: list[ModelVersion]) -> tuple[Any, ...]:
    return tuple(
        sorted((v.version, v.stage.value, v.threshold, v.artifact_sha256) for v in versions if v.stage in ROLES)
    )


class Deployments:
    """Every use case's deployment, loaded from the yard and refreshed by polling it."""

    def __init__(
        self,
        yard: Yard,
        *,
        trust: bool = False,
        extra_fields: str = "reject",
        canary_fraction: float = 0.1,
        attach: Callable[[Slot], None] = lambda slot: None,
        retire: Callable[[Slot], None] = lambda slot: None,
    ) -> None:
        self.yard = yard
        self.trust = trust
        self.extra_fields = extra_fields
        self.default_fraction = canary_fraction
        self.splits: dict[str, TrafficSplit] = {}
        self._attach = attach
        self._retire = retire
        self._current: dict[str, Deployment] = {}
        self._models: dict[tuple[str, int, str], LoadedModel] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def __contains__(self, name: str) -> bool:
        return name in self._current

    def names(self) -> list[str]:
        return sorted(self._current)

    def all(self) -> list[Deployment]:
        return [self._current[n] for n in sorted(self._current)]

    def get(self, name: str) -> Deployment:
        try:
            return self._current[name]
        except KeyError:
            known = ", ".join(sorted(self._current)) or "none"
            raise NotFoundError(
                f"Use case {name!r} is not served here; served use cases: {known}. "
                "Check the name, or give it a production version and wait a second."
            ) from None

    def refresh(self) -> list[str]:
        """Read the registry; rebuild and swap the use cases that changed. Returns their names."""
        with self._lock:
            versions = self.yard.models()
            self.splits = self._read_splits()
            by_case: dict[str, list[ModelVersion]] = {}
            for mv in versions:
                by_case.setdefault(mv.use_case, []).append(mv)
            changed = []
            for name, mine in sorted(by_case.items()):
                fingerprint = _fingerprint(mine)
                old = self._current.get(name)
                if old is not None and old.fingerprint == fingerprint:
                    continue
                if not fingerprint and old is None:
                    continue
                try:
                    new = self._build(name, mine, fingerprint, old)
                except ModelyardError as exc:  # keep serving what we had; say why in the log
                    _logger.error("cannot deploy use case %s: %s", name, exc.message)
                    continue
                for slot in new.slots():
                    self._attach(slot)
                self._current[name] = new
                changed.append(name)
                if old is not None:
                    live = {s.key for s in new.slots()}
                    for slot in old.slots():
                        if slot.key not in live:
                            self._retire(slot)
            if changed:
                self.generation += 1
                live_models = {(s.use_case, s.version, "") for d in self._current.values() for s in d.slots()}
                self._models = {k: m for k, m in self._models.items() if (k[0], k[1], "") in live_models}
            for deployment in self._current.values():  # a new split applies without a swap
                deployment.canary_fraction = self.fraction_of(deployment.name, _canary_version(deployment))
            return changed

    def fraction_of(self, name: str, canary_version: int | None) -> float:
        """The canary's share of the traffic of use case ``name`` whose canary is ``canary_version``."""
        split = self.splits.get(name)
        if split is not None and split.applies_to(canary_version):
            return split.canary_fraction
        return self.default_fraction

    def _read_splits(self) -> dict[str, TrafficSplit]:
        with self.yard.store.reading() as conn:
            return {row["use_case"]: TrafficSplit.from_row(row) for row in Store.current_traffic_splits(conn)}

    def set_split(self, name: str, fraction: float, *, actor: str, reason: str) -> TrafficSplit:
        """Give the canary of ``name`` this share of traffic, here now and on every replica at its next poll."""
        deployment = self.get(name)
        split = TrafficSplit(
            use_case=name,
            canary_fraction=fraction,
            canary_version=deployment.canary.version if deployment.canary else None,
            actor=actor,
            reason=reason,
            at=utcnow(),
        )
        with self.yard.store.writing() as conn:
            Store.append_traffic_split(conn, vars(split))
        with self._lock:
            self.splits[name] = split
            deployment = self.get(name)
            deployment.canary_fraction = self.fraction_of(name, _canary_version(deployment))
        return split

    def _build(
        self, name: str, versions: list[ModelVersion], fingerprint: tuple[Any, ...], old: Deployment | None
    ) -> Deployment:
        use_case = old.use_case if old is not None else self.yard.use_case(name)
        contract = old.contract if old is not None else RequestContract(use_case, extra_fields=self.extra_fields)
        reuse = {s.key: s for s in old.slots()} if old is not None else {}
        slots: dict[str, list[Slot]] = {"production": [], "canary": [], "shadow": []}
        for mv in versions:
            role = ROLES.get(mv.stage)
            if role is None:
                continue
            key = (name, mv.version, role, mv.threshold)
            slot = reuse.get(key)
            if slot is None:
                slot = Slot(name, mv.version, role, mv.threshold, self._load(mv))
            slots[role].append(slot)
        canary = slots["canary"][0] if slots["canary"] else None
        return Deployment(
            use_case=use_case,
            contract=contract,
            production=slots["production"][0] if slots["production"] else None,
            canary=canary,
            shadows=tuple(slots["shadow"]),
            fingerprint=fingerprint,
            canary_fraction=self.fraction_of(name, canary.version if canary is not None else None),
        )

    def _load(self, mv: ModelVersion) -> LoadedModel:
        key = (mv.use_case, mv.version, mv.artifact_sha256)
        model = self._models.get(key)
        if model is None:
            model = self.yard.load(mv.use_case, mv.version, trust=self.trust)
            self._models[key] = model
        return model


def _canary_version(deployment: Deployment) -> int | None:
    return deployment.canary.version if deployment.canary is not None else None
