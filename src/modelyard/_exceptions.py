"""The one exception tree of modelyard.

Every failure a user can cause or meet is one of these. Each class carries the HTTP
status the server answers with and the exit code the CLI ends with, so the CLI, the
server and the Python API report the same thing the same way::

    ModelyardError                      (exit 2, HTTP 500)
    ├── UsageError                      (exit 2, HTTP 400)  the caller asked for something invalid
    │   ├── SpecError                   a use-case spec is malformed; carries every issue found
    │   ├── DataError                   data does not match the spec or cannot be read as asked
    │   ├── UnknownFlavorError          no flavor handles this model, or the flavor name is unknown
    │   ├── UntrustedArtifactError      loading would run code (pickle) and ``trust`` was not given
    │   ├── DuplicateRegistrationError  (HTTP 409) the same artifact is already a version
    │   └── IllegalStageChangeError     (HTTP 409) the stage machine forbids this move
    ├── NotFoundError                   (HTTP 404) a use case, version or artifact does not exist
    ├── MissingExtraError               an optional dependency is not installed; names the extra
    ├── ArtifactIntegrityError          an artifact's bytes do not match its recorded sha256
    └── StoreUnavailableError           (HTTP 503) the database cannot be reached or migrated

Messages say what is wrong, show the value, and say the fix, on one line.
"""

from __future__ import annotations

__all__ = [
    "ArtifactIntegrityError",
    "DataError",
    "DuplicateRegistrationError",
    "IllegalStageChangeError",
    "MissingExtraError",
    "ModelyardError",
    "NotFoundError",
    "SpecError",
    "StoreUnavailableError",
    "UnknownFlavorError",
    "UntrustedArtifactError",
    "UsageError",
]


class ModelyardError(Exception):
    """Base of every error modelyard raises on purpose."""

    exit_code: int = 2
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """The one JSON error shape: ``{"error": {"type", "message"}}``."""
        return {"error": {"type": type(self).__name__, "message": self.message}}


class UsageError(ModelyardError):
    """The caller asked for something that cannot be done as asked."""

    http_status = 400


class SpecError(UsageError):
    """A use-case spec is malformed. ``issues`` holds every problem found, not just the first."""

    def __init__(self, message: str, issues: list[object] | None = None) -> None:
        super().__init__(message)
        self.issues = list(issues or [])


class DataError(UsageError):
    """Data is missing, drifted from its schema, or breaks the spec; says which partition, column or row."""


class UnknownFlavorError(UsageError):
    """No flavor can save or load this model."""


class UntrustedArtifactError(UsageError):
    """Loading this artifact would execute code from it, and ``trust`` was not given."""


class DuplicateRegistrationError(UsageError):
    """The same artifact is already registered as a version of this use case."""

    http_status = 409


class IllegalStageChangeError(UsageError):
    """The stage machine does not allow this transition."""

    http_status = 409


class NotFoundError(ModelyardError):
    """A use case, model version or artifact does not exist."""

    http_status = 404


class MissingExtraError(ModelyardError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed; "
            f"install it with: pip install 'modelyard[{extra}]'"
        )
        self.package = package
        self.extra = extra


class ArtifactIntegrityError(ModelyardError):
    """An artifact's content does not match the checksum recorded when it was stored."""


class StoreUnavailableError(ModelyardError):
    """The registry database cannot be reached, opened or migrated."""

    http_status = 503
