"""Reading what a user hands the CLI: model files, import paths and data tables."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from modelyard._exceptions import (
    DataError,
    MissingExtraError,
    ModelyardError,
    NotFoundError,
    UntrustedArtifactError,
    UsageError,
)
from modelyard._importing import import_failure

__all__ = ["MODEL_FILE_KINDS", "DamagedModelFileError", "read_model_file", "read_table"]


class DamagedModelFileError(UsageError):
    """A model file that exists but cannot be read: empty, cut short, or not what its suffix says."""


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
    if suffix not in _READERS:
        kinds = ", ".join(f"{k} ({v})" for k, v in MODEL_FILE_KINDS.items())
        raise UsageError(f"{path} has suffix {suffix or '(none)'!r}, which modelyard cannot read; use one of {kinds}")
    if suffix in {".pkl", ".pickle", ".joblib"} and not trust:
        raise UntrustedArtifactError(
            f"{path} is a pickle, and loading a pickle runs code from the file; pass --trust only "
            "for files from people you trust, or save the model in a format that runs no code: skops "
            "(skops.io.dump(model, 'model.skops')) for scikit-learn, LightGBM's own text "
            "(model.booster_.save_model('model.txt')), or ONNX"
        )
    if path.is_dir() or path.stat().st_size == 0:
        what = "a folder" if path.is_dir() else "empty (0 bytes)"
        raise DamagedModelFileError(f"Model file {path} is {what}; give a saved model")
    try:
        return _READERS[suffix](path, trust)
    except ModelyardError:
        raise
    except Exception as exc:  # a damaged or foreign file: the reader's own words, and what was expected
        raise DamagedModelFileError(
            f"Cannot read model file {path}: {type(exc).__name__}: {exc}; "
            f"is it a {MODEL_FILE_KINDS.get(suffix, suffix)} file, written whole?"
        ) from exc


def _read_onnx(path: Path, trust: bool) -> tuple[Any, str | None]:
    return path.read_bytes(), "onnx"


def _read_skops(path: Path, trust: bool) -> tuple[Any, str | None]:
    from modelyard.flavors import SavedModel, get_flavor, load_model

    model = load_model(SavedModel("sklearn", "skops", path.read_bytes(), {}), trust=trust).raw
    if not get_flavor("sklearn").handles(model):
        raise UsageError(
            f"{path} holds a {type(model).__module__}.{type(model).__qualname__}, not a scikit-learn model; "
            "save the fitted estimator itself (skops.io.dump(model, path))"
        )
    return model, "sklearn"


def _read_pickle(path: Path, trust: bool) -> tuple[Any, str | None]:
    import joblib

    return joblib.load(path), None


def _read_lightgbm(path: Path, trust: bool) -> tuple[Any, str | None]:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtraError("lightgbm", "lightgbm", f"Reading the LightGBM model {path}") from exc
    return lightgbm.Booster(model_file=str(path)), "lightgbm"


_READERS: dict[str, Callable[[Path, bool], tuple[Any, str | None]]] = {
    ".onnx": _read_onnx,
    ".skops": _read_skops,
    **dict.fromkeys((".pkl", ".pickle", ".joblib"), _read_pickle),
    **dict.fromkeys((".txt", ".lgb"), _read_lightgbm),
}


def _import_function(ref: str) -> Any:
    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(
            f"Cannot import {ref!r}: {exc}; check the module is importable (in the project folder, "
            "installed, or on PYTHONPATH) and the function name is right"
        ) from exc
    except (Exception, SystemExit) as exc:  # the module itself is broken: a syntax error, or it raises
        failure = import_failure(exc)
        raise UsageError(f"Importing {module_name!r} for {ref!r} failed: {failure}; fix the module") from exc
    if not callable(obj):
        raise UsageError(f"{ref!r} is a {type(obj).__name__}, not a function; name a function f(frame) -> scores")
    return obj


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet or CSV file as a DataFrame."""
    if not path.exists():
        raise NotFoundError(f"Data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise UsageError(f"{path} has suffix {suffix!r}; data files must be .parquet or .csv")
    try:
        return pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # empty, damaged, or not what its suffix says
        raise DataError(
            f"Cannot read data file {path}: {type(exc).__name__}: {exc}; give a whole {suffix} file"
        ) from exc
