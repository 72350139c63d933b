"""The model server: every use case's deployed versions behind OIP v2, MLflow and plain JSON.

>>> from modelyard.serve import create_app, serve
>>> app = create_app(yard)            # an ASGI app  # doctest: +SKIP
>>> serve(yard, "127.0.0.1", 8080)    # uvicorn, blocking  # doctest: +SKIP

Settings come from ``MODELYARD_SERVE_*`` (:class:`ServeSettings`).
"""

from modelyard.serve._app import create_app
from modelyard.serve._demo import demo_stage
from modelyard.serve._errors import (
    AdminAuthError,
    BadRequestError,
    NoProductionError,
    OverloadedError,
    PayloadTooLargeError,
)
from modelyard.serve._log import PredictionLog, read_prediction_log
from modelyard.serve._server import serve
from modelyard.serve._service import ModelService, Prediction
from modelyard.serve._settings import ServeSettings
from modelyard.serve._validate import RequestContract, Rows

__all__ = [
    "AdminAuthError",
    "BadRequestError",
    "ModelService",
    "NoProductionError",
    "OverloadedError",
    "PayloadTooLargeError",
    "Prediction",
    "PredictionLog",
    "RequestContract",
    "Rows",
    "ServeSettings",
    "create_app",
    "demo_stage",
    "read_prediction_log",
    "serve",
]
