"""modelyard: take a machine-learning model from research to production with no surprises.

The Python API, for notebooks and scripts::

    import modelyard
    yard = modelyard.open_yard()                 # the project holding the current folder
    mv = yard.register("churn", model, training_data=X_train)
    yard.promote("churn", mv.version, reason="cheaper than v1 at the same latency")
"""

from modelyard._exceptions import (
    ArtifactIntegrityError,
    DataError,
    DuplicateRegistrationError,
    IllegalStageChangeError,
    MissingExtraError,
    ModelyardError,
    NotFoundError,
    SpecError,
    StoreUnavailableError,
    UnknownFlavorError,
    UntrustedArtifactError,
    UsageError,
)
from modelyard._settings import Settings
from modelyard._yard import UseCaseSummary, Yard, open_yard
from modelyard.spec import UseCase, load_use_case, validate_file
from modelyard.store import ModelVersion, Stage, StageChange

__version__ = "0.1.0"

__all__ = [
    "ArtifactIntegrityError",
    "DataError",
    "DuplicateRegistrationError",
    "IllegalStageChangeError",
    "MissingExtraError",
    "ModelVersion",
    "ModelyardError",
    "NotFoundError",
    "Settings",
    "SpecError",
    "Stage",
    "StageChange",
    "StoreUnavailableError",
    "UnknownFlavorError",
    "UntrustedArtifactError",
    "UsageError",
    "UseCase",
    "UseCaseSummary",
    "Yard",
    "__version__",
    "load_use_case",
    "open_yard",
    "validate_file",
]
