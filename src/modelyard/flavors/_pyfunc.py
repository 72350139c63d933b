"""Plain Python scoring functions ``f(df) -> scores``, saved by import path (or, trusted, by value)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import pickle
import types
from typing import Any

import pandas as pd

from modelyard._exceptions import UntrustedArtifactError, UsageError
from modelyard.flavors._base import LoadedModel, ModelInfo, SavedModel, check_serialization

__all__ = ["PythonFunctionFlavor", "PythonFunctionModel"]

_PICKLE_LOAD_MESSAGE = (
    "Loading a pickle runs code from the file; pass trust=True (--trust) only for models from "
    "people you trust, or save the function by import path (the default)."
)


def _source_sha256(func: Any) -> str | None:
    """sha256 of the function's source, when Python can find it."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _import(module: str, qualname: str) -> Any:
    """The object ``module:qualname`` names; raises ImportError/AttributeError when absent."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _why_not_importable(func: Any) -> str | None:
    """``None`` when ``func`` can be imported back by module and qualname; else the reason."""
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
    if qualname == "<lambda>" or qualname.endswith(".<lambda>"):
        return "it is a lambda"
    if "<locals>" in qualname:
        return "it is defined inside another function"
    if not module or module == "__main__":
        return "it is defined in __main__ (a script or notebook)"
    try:
        found = _import(module, qualname)
    except (ImportError, AttributeError):
        return f"{module}.{qualname} cannot be imported"
    if found is not func:
        return f"importing {module}.{qualname} gives a different object"
    return None


class PythonFunctionModel(LoadedModel):
    """A loaded scoring function; ``source_changed`` says whether its source differs from when saved."""

    flavor = "python_function"

    @property
    def source_changed(self) -> bool | None:
        """``True`` when the installed function's source differs from the saved hash (``None``: unknown)."""
        saved = self.metadata.get("source_sha256")
        now = _source_sha256(self.raw)
        if saved is None or now is None:
            return None
        return bool(saved != now)

    def _predict(self, X: pd.DataFrame) -> Any:
        return self.raw(X)


class PythonFunctionFlavor:
    """A plain function ``f(df: DataFrame) -> array-like of scores``."""

    name = "python_function"
    serializations: tuple[str, ...] = ("import-path", "cloudpickle")

    def handles(self, obj: Any) -> bool:
        """A plain Python function (not a class, method or builtin)."""
        return isinstance(obj, types.FunctionType)

    def describe(self, obj: Any) -> ModelInfo:
        """A function does not name its inputs: the sample's columns are used."""
        return ModelInfo()

    def save(self, obj: Any, *, serialization: str | None = None, trust: bool = False) -> SavedModel:
        """Save by import path; a function that cannot be imported needs ``trust=True`` and cloudpickle."""
        if not callable(obj):
            raise UsageError(f"The 'python_function' flavor takes a function. Got {type(obj).__name__} instead.")
        why = _why_not_importable(obj)
        if serialization is None:
            serialization = "import-path" if why is None or not trust else "cloudpickle"
        fmt = check_serialization(self.name, serialization, self.serializations)
        module, qualname = obj.__module__, obj.__qualname__
        metadata: dict[str, Any] = {
            "task": "binary",
            "module": module,
            "qualname": qualname,
            "source_sha256": _source_sha256(obj),
        }
        if fmt == "import-path":
            if why is not None:
                raise UsageError(
                    f"The function {qualname!r} cannot be saved by import path: {why}. Move it into a "
                    "module of an installed package, or pass trust=True to save it by value with cloudpickle."
                )
            payload = json.dumps({"module": module, "qualname": qualname}, sort_keys=True).encode("utf-8")
            return SavedModel(self.name, fmt, payload, metadata)
        if not trust:
            raise UntrustedArtifactError(
                "Saving a function by value writes a pickle that runs code when loaded; pass trust=True "
                "(--trust) to confirm, or move the function into a module and save it by import path."
            )
        try:
            import cloudpickle
        except ImportError as exc:
            raise UsageError(
                f"Saving the function {qualname!r} by value needs cloudpickle, which is not installed; "
                "install it with: pip install cloudpickle"
            ) from exc
        metadata["cloudpickle_version"] = cloudpickle.__version__
        return SavedModel(self.name, fmt, cloudpickle.dumps(obj), metadata)

    def load(self, saved: SavedModel, *, trust: bool = False) -> PythonFunctionModel:
        """Import the function (no trust needed), or unpickle it (``trust=True`` needed)."""
        fmt = check_serialization(self.name, saved.format, self.serializations)
        if fmt == "import-path":
            ref = json.loads(saved.payload.decode("utf-8"))
            try:
                func = _import(ref["module"], ref["qualname"])
            except (ImportError, AttributeError) as exc:
                raise UsageError(
                    f"The scoring function {ref['module']}.{ref['qualname']} cannot be imported: {exc}. "
                    "Install the package that defines it."
                ) from exc
        else:
            if not trust:
                raise UntrustedArtifactError(_PICKLE_LOAD_MESSAGE)
            func = pickle.loads(saved.payload)
        return PythonFunctionModel(func, format=fmt, input_names=None, metadata=saved.metadata)
