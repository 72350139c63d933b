"""The model under check: a registered version or a model file, loaded by the server's own code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard._exceptions import (
    ModelyardError,
    NotFoundError,
    UntrustedArtifactError,
    UsageError,
)
from modelyard.flavors import LoadedModel, SavedModel, load_model, save_model
from modelyard.registry import read_model_file
from modelyard.registry._files import DamagedModelFileError
from modelyard.store import ModelVersion, Stage

__all__ = ["Candidate", "LoadFailure", "is_version_ref", "load_candidate"]

_VERSION = re.compile(r"^v?\d+$", re.IGNORECASE)
_STAGES = {s.value for s in Stage} | {"latest"}
# What read_model_file tries for each kind of file: (flavor, format).
_FILE_FLAVOR = {
    ".skops": ("sklearn", "skops"),
    ".onnx": ("onnx", "onnx"),
    ".txt": ("lightgbm", "lightgbm-text"),
    ".lgb": ("lightgbm", "lightgbm-text"),
    ".pkl": ("pickle", "pickle"),
    ".pickle": ("pickle", "pickle"),
    ".joblib": ("pickle", "joblib"),
}
_TRUST_FIX = "pass --trust (trust=True) only if you trust who made the file, or save the model with skops"


class LoadFailure(Exception):
    """The model could not be loaded; ``message`` says with which flavor and why, ``fix`` what to do."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass
class Candidate:
    """A model ready for the check, with what the registry knows of it."""

    label: str
    loaded: LoadedModel
    saved: SavedModel
    version: ModelVersion | None = None
    threshold: float = 0.5
    input_dtypes: dict[str, str] = field(default_factory=dict)

    @property
    def artifact_bytes(self) -> int:
        return len(self.saved.payload)


def is_version_ref(model: Any) -> bool:
    """Whether ``model`` names a registered version (3, "v3", "latest", a stage) rather than a file."""
    if isinstance(model, bool):
        return False
    if isinstance(model, int):
        return True
    if not isinstance(model, str) or Path(model).exists():
        return False
    text = model.strip().lower()
    return bool(_VERSION.match(text)) or text in _STAGES


def load_candidate(yard: Any, use_case: str, model: Any, *, trust: bool) -> Candidate:
    """Load ``model`` as the server would. Usage mistakes (no such version, no such file) raise
    :class:`UsageError`/:class:`NotFoundError`; a model that does not load raises :class:`LoadFailure`."""
    if is_version_ref(model):
        return _load_version(yard, use_case, model, trust=trust)
    if isinstance(model, str | Path):
        return _load_file(str(model), trust=trust)
    if isinstance(model, LoadedModel | SavedModel):
        raise UsageError(
            f"Check a registered version, a model file or a model object. Got a {type(model).__name__}; "
            "pass the model object itself"
        )
    return _load_object(model, trust=trust)


def _load_version(yard: Any, use_case: str, ref: Any, *, trust: bool) -> Candidate:
    mv: ModelVersion = yard.model(use_case, ref)
    try:
        payload = yard.artifacts.get(mv.artifact_sha256)
    except ModelyardError as exc:
        raise LoadFailure(
            f"the artifact of {mv.ref} cannot be read: {exc.message}",
            "re-register the model; the stored artifact is damaged or missing",
        ) from exc
    saved = SavedModel(flavor=mv.flavor, format=mv.format, payload=payload, metadata=mv.flavor_metadata)
    loaded = _load_saved(saved, trust=trust, what=mv.ref)
    # The signature's types come from the training sample only when one was given at registration;
    # without it they are guesses ("float"), not what the model was trained on.
    dtypes: dict[str, str] = {}
    if mv.training_data_hash is not None:
        dtypes = {c["name"]: c["dtype"] for c in (mv.signature or {}).get("inputs", []) if "name" in c}
    return Candidate(mv.ref, loaded, saved, version=mv, threshold=mv.threshold, input_dtypes=dtypes)


def _load_file(ref: str, *, trust: bool) -> Candidate:
    suffix = Path(ref).suffix.lower()
    flavor, fmt = _FILE_FLAVOR.get(suffix, ("python_function", "import-path"))
    try:
        obj, detected = read_model_file(ref, trust=trust)
    except UntrustedArtifactError as exc:
        raise LoadFailure(f"{ref} was not loaded: {exc.message}", _TRUST_FIX) from exc
    except Exception as exc:
        if isinstance(exc, NotFoundError | UsageError) and not isinstance(exc, DamagedModelFileError):
            raise  # no such file, a suffix modelyard cannot read, a broken module: a usage mistake
        # a damaged file: say which flavor was tried and why it failed, in the reader's own words
        cause = exc.__cause__ if isinstance(exc, DamagedModelFileError) else exc
        why = f"{type(cause).__name__}: {_first_line(cause)}" if cause is not None else str(exc)
        raise LoadFailure(
            f"{ref} does not load with the {flavor} flavor ({fmt}): {why}",
            f"check that {ref} is a complete {suffix or 'model'} file written by the library that made it",
        ) from exc
    candidate = _load_object(obj, trust=trust, flavor=detected, what=ref)
    candidate.label = ref
    return candidate


def _load_object(obj: Any, *, trust: bool, flavor: str | None = None, what: str | None = None) -> Candidate:
    name = what or f"{type(obj).__module__}.{type(obj).__qualname__}"
    try:
        saved = save_model(obj, flavor=flavor, trust=trust)
    except UntrustedArtifactError as exc:
        raise LoadFailure(f"{name} cannot be saved for serving: {exc.message}", _TRUST_FIX) from exc
    except Exception as exc:
        message = exc.message if isinstance(exc, ModelyardError) else f"{type(exc).__name__}: {_first_line(exc)}"
        raise LoadFailure(
            f"{name} cannot be saved as the registry would store it: {message}",
            "save the model in a format modelyard reads (skops, ONNX, LightGBM text, an importable function)",
        ) from exc
    loaded = _load_saved(saved, trust=trust, what=name)
    return Candidate(name, loaded, saved)


def _load_saved(saved: SavedModel, *, trust: bool, what: str) -> LoadedModel:
    try:
        return load_model(saved, trust=trust)
    except UntrustedArtifactError as exc:
        raise LoadFailure(f"{what} was not loaded: {exc.message}", _TRUST_FIX) from exc
    except Exception as exc:
        message = exc.message if isinstance(exc, ModelyardError) else f"{type(exc).__name__}: {_first_line(exc)}"
        raise LoadFailure(
            f"{what} does not load with the {saved.flavor} flavor ({saved.format}): {message}",
            "install the libraries the model needs, at the versions it was saved with, or re-save it",
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
