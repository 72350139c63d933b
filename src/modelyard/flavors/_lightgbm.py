"""LightGBM boosters and scikit-learn wrappers, saved as LightGBM's own text model (no code)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import MissingExtraError, UsageError
from modelyard.flavors._base import LoadedModel, ModelInfo, SavedModel, check_serialization

__all__ = ["LightGBMFlavor", "LightGBMModel"]

_AUTO_NAME = re.compile(r"Column_\d+")
_REGRESSION_PREFIXES = ("regression", "huber", "fair", "poisson", "quantile", "mape", "gamma", "tweedie")


def _import_lightgbm(purpose: str) -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtraError("lightgbm", "lightgbm", purpose) from exc
    return lightgbm


def _objective(model_text: str) -> str:
    """The ``objective=`` line of a LightGBM text model (e.g. ``binary sigmoid:1``)."""
    match = re.search(r"^objective=(.*)$", model_text[:100_000], flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _task(objective: str) -> str:
    name = objective.split(" ", 1)[0]
    if name in ("binary", "cross_entropy", "xentropy"):
        return "binary"
    if name.startswith(_REGRESSION_PREFIXES):
        return "regression"
    return name or "binary"


def _booster_of(obj: Any) -> Any:
    """The Booster inside ``obj`` (itself when it is one)."""
    if type(obj).__name__ == "Booster":
        return obj
    try:
        return obj.booster_
    except Exception as exc:  # LGBMNotFittedError
        raise UsageError(f"This {type(obj).__qualname__} is not fitted; fit it before saving it.") from exc


class LightGBMModel(LoadedModel):
    """A loaded ``lightgbm.Booster``; the binary objective scores the positive-class probability."""

    flavor = "lightgbm"

    def __init__(self, raw: Any, *, format: str, metadata: dict[str, Any]) -> None:
        names = metadata.get("feature_names") or []
        auto = all(_AUTO_NAME.fullmatch(n) for n in names)
        super().__init__(raw, format=format, input_names=None if auto else names, metadata=metadata)
        self._n_features = len(names)

    def _predict(self, X: pd.DataFrame) -> Any:
        if self.input_names is not None:
            missing = [n for n in self.input_names if n not in X.columns]
            if missing:
                raise UsageError(
                    f"The input is missing {len(missing)} column(s) the model reads: {missing[:10]}. "
                    f"Got columns {list(X.columns)[:10]}."
                )
            if list(X.columns) != list(self.input_names):
                X = X[list(self.input_names)]
        elif X.shape[1] != self._n_features:
            raise UsageError(f"The model reads {self._n_features} unnamed columns. Got {X.shape[1]} columns instead.")
        out = self.raw.predict(X)
        if out.ndim == 2:
            raise UsageError(
                f"Only binary classification and regression are supported for now: this LightGBM model "
                f"(objective {self.metadata.get('objective')!r}) returned {out.shape[1]} scores per row."
            )
        return out


class LightGBMFlavor:
    """``lightgbm.Booster`` and the ``LGBMClassifier``/``LGBMRegressor`` wrappers."""

    name = "lightgbm"
    serializations: tuple[str, ...] = ("lightgbm-text",)

    def handles(self, obj: Any) -> bool:
        """A LightGBM object, told by its module name (LightGBM is not imported)."""
        module = type(obj).__module__ or ""
        return (module == "lightgbm" or module.startswith("lightgbm.")) and (
            type(obj).__name__ == "Booster" or hasattr(obj, "booster_")
        )

    def describe(self, obj: Any) -> ModelInfo:
        """Feature names and task of a fitted booster or wrapper."""
        booster = _booster_of(obj)
        names = booster.feature_name()
        auto = all(_AUTO_NAME.fullmatch(n) for n in names)
        objective = booster.params.get("objective") or _objective(booster.model_to_string())
        task = _task(str(objective))
        return ModelInfo(input_names=None if auto else tuple(names), task=task)

    def save(self, obj: Any, *, serialization: str | None = None, trust: bool = False) -> SavedModel:
        """Save the booster as LightGBM's text model (format ``lightgbm-text``)."""
        fmt = check_serialization(self.name, serialization, self.serializations)
        lightgbm = _import_lightgbm("Saving a LightGBM model")
        booster = _booster_of(obj)
        text = booster.model_to_string()
        objective = _objective(text)
        metadata: dict[str, Any] = {
            "task": _task(objective),
            "objective": objective,
            "lightgbm_version": lightgbm.__version__,
            "feature_names": list(booster.feature_name()),
            "pandas_categorical": _jsonable(booster.pandas_categorical),
            "num_trees": booster.num_trees(),
            "wrapper": f"{type(obj).__module__}.{type(obj).__qualname__}",
        }
        classes = getattr(obj, "classes_", None)
        if classes is not None:
            labels = [v if isinstance(v, str | int | float | bool) else str(v) for v in np.asarray(classes).tolist()]
            if len(labels) != 2:
                raise UsageError(
                    f"Only binary classifiers are supported for now: this model has {len(labels)} classes."
                )
            metadata["classes"] = labels
            metadata["positive_class"] = labels[1]
        return SavedModel(self.name, fmt, text.encode("utf-8"), metadata)

    def load(self, saved: SavedModel, *, trust: bool = False) -> LightGBMModel:
        """Rebuild the booster from its text model (it carries the pandas categories)."""
        fmt = check_serialization(self.name, saved.format, self.serializations)
        lightgbm = _import_lightgbm("Loading a LightGBM model")
        booster = lightgbm.Booster(model_str=saved.payload.decode("utf-8"))
        return LightGBMModel(booster, format=fmt, metadata=saved.metadata)


def _jsonable(value: Any) -> Any:
    """``pandas_categorical`` (lists of category values) as JSON, or its string form."""
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
    except (TypeError, ValueError):
        return str(value)
