"""Reading what a user hands the CLI: model files, import paths and data tables."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pandas as pd

from modelyard._exceptions import MissingExtraError, NotFoundError, UntrustedArtifactError, UsageError

__all__ = ["MODEL_FILE_KINDS", "read_model_file", "read_table"]

MODEL_FILE_KINDS = {
    ".skops": "scikit-learn model saved with skops",
    ".onnx": "ONNX model",
    ".txt": "LightGBM text model",
    ".lgb": "LightGBM text model",
    ".pkl": "pickle (needs --trust)",
    ".pickle": "pickle (needs --trust)",
    ".joblib": "joblib pickle (needs --trust)",
}


def read_model_file(ref: str, *, trust: bool = False) -> tuple[Any, str | None]:
    """The model object behind a file path or a ``module:function`` import path, and its flavor
    when the file's kind decides it."""
    path = Path(ref)
    if not path.exists():
        if ":" in ref and not ref.startswith((".", "/")) and "/" not in ref:
            return _import_function(ref), "python_function"
        raise NotFoundError(
            f"Model file {ref} does not exist; give the path of a model file "
            f"({', '.join(MODEL_FILE_KINDS)}) or an import path module:function"
        )
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return path.read_bytes(), "onnx"
    if suffix == ".skops":
        from modelyard.flavors import SavedModel, load_model

        return load_model(SavedModel("sklearn", "skops", path.read_bytes(), {}), trust=trust).raw, "sklearn"
    if suffix in {".pkl", ".pickle", ".joblib"}:
        if not trust:
            raise UntrustedArtifactError(
                f"{path} is a pickle, and loading a pickle runs code from the file; pass --trust only "
                "for files from people you trust, or save the model with skops (skops.io.dump) instead"
            )
        import joblib

        return joblib.load(path), None
    if suffix in {".txt", ".lgb"}:
        try:
            import lightgbm
        except ImportError as exc:
            raise MissingExtraError("lightgbm", "lightgbm", f"Reading the LightGBM model {path}") from exc
        return lightgbm.Booster(model_file=str(path)), "lightgbm"
    kinds = ", ".join(f"{k} ({v})" for k, v in MODEL_FILE_KINDS.items())
    raise UsageError(f"{path} has suffix {suffix or '(none)'!r}, which modelyard cannot read; use one of {kinds}")


def _import_function(ref: str) -> Any:
    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(
            f"Cannot import {ref!r}: {exc}; check the module is importable (on PYTHONPATH) "
            "and the function name is right"
        ) from exc
    if not callable(obj):
        raise UsageError(f"{ref!r} is a {type(obj).__name__}, not a function; name a function f(frame) -> scores")
    return obj


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet or CSV file as a DataFrame."""
    if not path.exists():
        raise NotFoundError(f"Data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise UsageError(f"{path} has suffix {suffix!r}; data files must be .parquet or .csv")
