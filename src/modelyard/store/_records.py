"""The registry's records as immutable Python objects, with their JSON forms."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["CheckRecord", "EvaluationRecord", "ModelVersion", "Stage", "StageChange", "UseCaseRecord"]


class Stage(StrEnum):
    """Where a model version stands on its way to production and out of it."""

    CANDIDATE = "candidate"
    SHADOW = "shadow"
    CANARY = "canary"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    RETIRED = "retired"


@dataclass(frozen=True)
class UseCaseRecord:
    """A use case as the registry knows it: the spec it last saw."""

    name: str
    spec_sha256: str
    spec_yaml: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    """One registered model: its artifact, its lineage and where it stands."""

    use_case: str
    version: int
    stage: Stage
    flavor: str
    format: str
    artifact_uri: str
    artifact_sha256: str
    artifact_size: int
    signature: dict[str, Any]
    params: dict[str, Any]
    tags: dict[str, str]
    spec_sha256: str
    author: str
    threshold: float
    created_at: datetime
    training_data_hash: str | None = None
    training_rows_sha256: str | None = None
    snapshot_id: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    research_item: str | None = None
    description: str | None = None
    flavor_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``use_case/vN``, how people name a version."""
        return f"{self.use_case}/v{self.version}"

    def __repr__(self) -> str:  # the dataclass's own repr is kilobytes of signature and params
        made = self.created_at.strftime("%Y-%m-%d %H:%M")
        return f"<ModelVersion {self.ref} {self.stage.value} ({self.flavor}) by {self.author}, {made}>"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stage"] = self.stage.value
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class StageChange:
    """One entry of the append-only audit trail."""

    id: int
    use_case: str
    version: int
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    reason: str
    at: datetime
    evaluation_id: str | None = None
    replaced_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from_stage"] = self.from_stage.value if self.from_stage else None
        data["to_stage"] = self.to_stage.value
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True)
class CheckRecord:
    """A stored handoff-check result of one version."""

    id: str
    use_case: str
    version: int
    passed: bool
    result: dict[str, Any]
    created_at: datetime
    data_ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class EvaluationRecord:
    """A stored business evaluation of a challenger (against a champion when there was one)."""

    id: str
    use_case: str
    challenger_version: int
    champion_version: int | None
    verdict: str
    schema_version: str
    result: dict[str, Any]
    created_at: datetime
    data_ref: str | None = None
    cost_model_sha256: str | None = None
    report_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data
