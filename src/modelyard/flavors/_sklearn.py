"""scikit-learn estimators and pipelines, saved with skops (safe) or, when trusted, pickle/joblib."""

from __future__ import annotations

import importlib
import io
import json
import pickle
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import MissingExtraError, UntrustedArtifactError, UsageError
from modelyard._settings import Settings
from modelyard.flavors._base import (
    LoadedModel,
    ModelInfo,
    SavedModel,
    check_serialization,
    select_columns,
)
from modelyard.flavors._lightgbm import LightGBMFlavor, PandasCategories, as_matrix
from modelyard.flavors._sklearn_compiled import CompiledSklearn, compile_sklearn

__all__ = ["PICKLE_LOAD_MESSAGE", "SklearnFlavor", "SklearnModel", "refuse_regressor"]

PICKLE_LOAD_MESSAGE = (
    "Loading a pickle runs code from the file; pass trust=True (--trust) only for models from "
    "people you trust, or save with skops (the default)."
)
PICKLE_SAVE_MESSAGE = (
    "Saving with {fmt} writes a file that runs code when loaded; pass trust=True (--trust) to "
    "confirm, or save with skops (the default)."
)

# What a skops file may name without the user passing trust=True. skops may construct (or call)
# what the file names while loading, so this is kept narrow: classes of scikit-learn and skops,
# LightGBM's estimators and Booster, numpy scalar types, dtypes and ufuncs, scipy.sparse classes,
# and a few plain containers. Functions (``builtins.eval``, ``numpy.load`` ...) and classes that
# touch files (``numpy.memmap``) are never trusted automatically.
_SAFE_PACKAGES = frozenset({"sklearn", "numpy", "scipy", "skops", "lightgbm", "collections", "builtins"})
_SAFE_NAMES = frozenset(
    {
        "lightgbm.basic.Booster",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "builtins.complex",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.range",
        "builtins.bytearray",
        # HistGradientBoosting with categorical features keeps partial(check_array, ...) in its own
        # preprocessor. A partial is only as dangerous as what it wraps, and skops lists the wrapped
        # function separately, so it must pass this check on its own.
        "functools.partial",
        "sklearn.utils.validation.check_array",
    }
)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_skops(payload: bytes) -> bytes:
    """The same skops file with its variable parts made fixed, so equal models give equal bytes.

    skops names objects by ``id()`` (different in every process) and stamps each zip entry with
    the time of writing. Content addressing needs neither: ids are renumbered in order of first
    appearance (identity between nodes is kept, since each id maps to exactly one new number),
    entries are written in name order with a fixed timestamp.
    """
    source = zipfile.ZipFile(io.BytesIO(payload))
    schema = json.loads(source.read("schema.json"))
    ids: dict[int, int] = {}

    def new_id(old: int) -> int:
        return ids.setdefault(old, len(ids) + 1)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = new_id(value)
                elif key == "file" and isinstance(value, str) and value.endswith(".npy") and value[:-4].isdigit():
                    out[key] = f"{new_id(int(value[:-4]))}.npy"
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    renamed = walk(schema)
    members = {"schema.json": json.dumps(renamed, indent=2).encode()}
    for info in source.infolist():
        if info.filename == "schema.json":
            continue
        stem = info.filename[:-4]
        if not (info.filename.endswith(".npy") and stem.isdigit() and int(stem) in ids):
            return payload  # a layout we do not know: keep skops's bytes rather than guess
        members[f"{ids[int(stem)]}.npy"] = source.read(info.filename)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(members):
            target.writestr(zipfile.ZipInfo(name, date_time=_ZIP_EPOCH), members[name], zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _resolve(name: str) -> Any:
    """Import the object ``module.qualname`` names; ``None`` when it cannot be found."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as exc:
            if exc.name == "lightgbm":
                raise MissingExtraError("lightgbm", "lightgbm", "Loading this scikit-learn model") from exc
            continue
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _is_safe_type(name: str) -> bool:
    """Whether a type named in a skops file may be trusted without asking the user."""
    top = name.split(".", 1)[0]
    if name in _SAFE_NAMES:
        return True
    if top not in _SAFE_PACKAGES or top in ("collections", "builtins"):
        return False
    obj = _resolve(name)
    if isinstance(obj, np.ufunc):
        return True
    if not isinstance(obj, type):
        return False
    if top == "lightgbm":
        from sklearn.base import BaseEstimator

        return issubclass(obj, BaseEstimator)
    if top == "numpy":
        return issubclass(obj, np.generic | np.dtype)
    if top == "scipy":
        return name.startswith("scipy.sparse.")
    return True  # sklearn, skops


def _positive_index(obj: Any) -> tuple[str, list[Any] | None]:
    """The task of a fitted estimator and its class labels (for classifiers)."""
    classes = getattr(obj, "classes_", None)
    if classes is None:
        if hasattr(obj, "predict_proba"):
            return "binary", None
        return "regression", None
    labels = np.asarray(classes).tolist()
    return "binary", labels


_COMPILED: ContextVar[bool | None] = ContextVar("modelyard_sklearn_compiled", default=None)


@contextmanager
def compiled_scoring(enabled: bool) -> Iterator[None]:
    """Models loaded inside compile (or not) as ``enabled`` says, whatever the environment says:
    :meth:`modelyard.Yard.load` passes its own :attr:`~modelyard.Settings.sklearn_compiled`."""
    token = _COMPILED.set(enabled)
    try:
        yield
    finally:
        _COMPILED.reset(token)


def compiled_enabled() -> bool:
    """Whether scikit-learn models loaded here and now compile (see :func:`compiled_scoring`)."""
    enabled = _COMPILED.get()
    return enabled if enabled is not None else Settings().sklearn_compiled


class SklearnModel(LoadedModel):
    """A loaded scikit-learn estimator; binary classifiers score ``predict_proba[:, 1]``.

    HistGradientBoosting pipelines, and pipelines ending in LightGBM, score small batches through
    their compiled form (see
    :mod:`modelyard.flavors._sklearn_compiled`; same scores, bit for bit) unless
    :attr:`modelyard.Settings.sklearn_compiled` is false: the yard's settings when it loads the model,
    else the environment's ``MODELYARD_SKLEARN_COMPILED``.
    """

    flavor = "sklearn"

    compiled: CompiledSklearn | None = None
    lightgbm: Any = None  # the Booster of an LGBMClassifier/LGBMRegressor saved with skops or pickle
    lightgbm_categories: PandasCategories | None = None

    def _prepare(self) -> None:
        if compiled_enabled():
            self.compiled = compile_sklearn(self.raw)
        if LightGBMFlavor().handles(self.raw):
            self.lightgbm = self.raw.booster_
            self.lightgbm_categories = PandasCategories.of(self.lightgbm)

    def _predict(self, X: pd.DataFrame) -> Any:
        # Estimators that know their columns get those, in order; estimators fitted on an array
        # get an array, so that scikit-learn does not warn about feature names.
        data: Any = X
        if self.input_names is not None:
            data = select_columns(X, self.input_names)
        elif not self.metadata.get("fitted_on_frame", True):
            data = X.to_numpy()
        if self.lightgbm is not None and isinstance(data, pd.DataFrame):
            # The booster on an array gives what the wrapper gives on the frame (the positive
            # class's probability for a binary one), without LightGBM's pandas path (see as_matrix).
            categories = self.lightgbm_categories
            matrix = as_matrix(data) if categories is None else categories.matrix(data)
            if matrix is not None:
                return self.lightgbm.predict(matrix)
            if categories is not None:
                data = categories.apply(data)
        if self.compiled is not None:  # only ever made for estimators that read columns by name
            scores = self.compiled.predict(data)
            if scores is not None:
                return scores
        if self.task == "regression":
            return self.raw.predict(data)
        return self.raw.predict_proba(data)[:, 1]


class SklearnFlavor:
    """scikit-learn estimators and pipelines: ``predict_proba`` (classifiers) or ``predict`` (regressors)."""

    name = "sklearn"
    serializations: tuple[str, ...] = ("skops", "pickle", "joblib")

    def handles(self, obj: Any) -> bool:
        """Any fitted-able estimator object with ``get_params`` and ``predict_proba`` or ``predict``."""
        if isinstance(obj, type):
            return False
        return (
            hasattr(obj, "get_params")
            and hasattr(obj, "fit")
            and (hasattr(obj, "predict_proba") or hasattr(obj, "predict"))
        )

    def describe(self, obj: Any) -> ModelInfo:
        """Input names (``feature_names_in_``) and task of a fitted estimator."""
        names = getattr(obj, "feature_names_in_", None)
        task, _ = _positive_index(obj)
        return ModelInfo(input_names=tuple(str(n) for n in names) if names is not None else None, task=task)

    def save(self, obj: Any, *, serialization: str | None = None, trust: bool = False) -> SavedModel:
        """Save a fitted estimator: skops by default; pickle/joblib only with ``trust=True``."""
        fmt = check_serialization(self.name, serialization, self.serializations)
        metadata = self._metadata(obj)
        if fmt == "skops":
            import skops
            import skops.io as sio

            try:
                payload = canonical_skops(sio.dumps(obj))
            except Exception as exc:
                raise UsageError(
                    f"skops cannot save this {type(obj).__module__}.{type(obj).__qualname__}: {exc}. "
                    "If you trust everyone who will load it, save it with serialization='pickle' "
                    "and trust=True instead."
                ) from exc
            metadata["skops_version"] = skops.__version__
            # Types the loader will have to trust by hand (or automatically, see _is_safe_type).
            metadata["skops_untrusted_types"] = sorted(sio.get_untrusted_types(data=payload))
            return SavedModel(self.name, fmt, payload, metadata)
        if not trust:
            raise UntrustedArtifactError(PICKLE_SAVE_MESSAGE.format(fmt=fmt))
        if fmt == "joblib":
            import joblib

            buffer = io.BytesIO()
            joblib.dump(obj, buffer)
            payload = buffer.getvalue()
        else:
            payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return SavedModel(self.name, fmt, payload, metadata)

    def load(self, saved: SavedModel, *, trust: bool = False) -> SklearnModel:
        """Load a saved estimator; pickle/joblib and unknown skops types need ``trust=True``."""
        fmt = check_serialization(self.name, saved.format, self.serializations)
        if fmt == "skops":
            model = self._load_skops(saved.payload, trust=trust)
        elif not trust:
            raise UntrustedArtifactError(PICKLE_LOAD_MESSAGE)
        elif fmt == "joblib":
            import joblib

            model = joblib.load(io.BytesIO(saved.payload))
        else:
            model = pickle.loads(saved.payload)
        names = saved.metadata.get("input_names")
        return SklearnModel(model, format=fmt, input_names=names, metadata=saved.metadata)

    @staticmethod
    def _load_skops(payload: bytes, *, trust: bool) -> Any:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=payload)
        if not trust:
            unsafe = [t for t in untrusted if not _is_safe_type(t)]
            if unsafe:
                raise UntrustedArtifactError(
                    f"This skops file contains types that are not trusted automatically: {unsafe}. "
                    "Loading them may run their code; pass trust=True (--trust on the CLI) only if "
                    "you trust who made the file."
                )
        return sio.loads(payload, trusted=untrusted)

    def _metadata(self, obj: Any) -> dict[str, Any]:
        import sklearn
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        try:
            check_is_fitted(obj)
        except NotFittedError as exc:
            raise UsageError(f"This {kind} is not fitted; fit it before saving it.") from exc
        except TypeError:
            pass  # not a scikit-learn estimator proper; trust its own API
        task, classes = _positive_index(obj)
        if task == "binary" and not hasattr(obj, "predict_proba"):
            raise UsageError(
                f"This {kind} has no predict_proba, and a binary classifier must score a probability. "
                "Wrap it in sklearn.calibration.CalibratedClassifierCV, "
                "or use a classifier with predict_proba."
            )
        if classes is not None and len(classes) != 2:
            raise UsageError(
                f"Only binary classifiers are supported for now: this {kind} has {len(classes)} classes {classes[:10]}."
            )
        names = getattr(obj, "feature_names_in_", None)
        metadata: dict[str, Any] = {
            "task": task,
            "estimator": kind,
            "sklearn_version": sklearn.__version__,
            "input_names": [str(n) for n in names] if names is not None else None,
            "fitted_on_frame": _fitted_on_frame(obj),
        }
        if classes is not None:
            metadata["classes"] = _jsonable(classes)
            metadata["positive_class"] = _jsonable(classes)[1]
        return metadata


def refuse_regressor(obj: Any) -> None:
    """Refuse a scikit-learn-style regressor (or a pipeline ending in one) for a binary classification
    use case: its predictions are values, not the probability of the positive class."""
    from sklearn.base import BaseEstimator, is_regressor

    if not isinstance(obj, BaseEstimator) or not is_regressor(obj):
        return
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    steps = getattr(obj, "steps", None)
    if steps:
        last = steps[-1][1]
        kind = f"{kind} ending in the regressor {type(last).__module__}.{type(last).__qualname__}"
    example = (
        "lightgbm.LGBMClassifier"
        if type(obj).__module__.startswith("lightgbm")
        else "sklearn.linear_model.LogisticRegression"
    )
    raise UsageError(
        f"This {kind} is a regressor, and a binary classifier must score a probability. "
        f"Use a classifier with predict_proba (e.g. {example}), or, if the regressor's output really "
        "is a probability, wrap it in a plain Python function model f(frame) -> scores (flavor 'python_function')."
    )


def _fitted_on_frame(obj: Any) -> bool:
    """Whether ``obj``, or any estimator inside it, was fitted on a DataFrame (knows column names)."""
    if hasattr(obj, "feature_names_in_"):
        return True
    try:
        params = obj.get_params(deep=True)
    except Exception:
        return True
    return any(hasattr(value, "feature_names_in_") for value in params.values())


def _jsonable(values: list[Any]) -> list[Any]:
    """Class labels as JSON values (numpy scalars already converted by ``tolist``)."""
    return [v if isinstance(v, str | int | float | bool) or v is None else str(v) for v in values]
