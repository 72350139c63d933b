"""LightGBM boosters and scikit-learn wrappers, saved as LightGBM's own text model (no code)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import MissingExtraError, UsageError
from modelyard.flavors._base import LoadedModel, ModelInfo, SavedModel, check_serialization

__all__ = ["LightGBMFlavor", "LightGBMModel", "PandasCategories", "as_matrix"]

_AUTO_NAME = re.compile(r"Column_\d+")
_LOOKUP_ROWS = 256  # up to this many rows, text categories are coded with a dict (see PandasCategories)
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


class PandasCategories:
    """The pandas ``category`` columns a LightGBM model was trained on, to give it rows as it saw them.

    LightGBM records the categories of every ``category`` column of its training frame, in order
    (``pandas_categorical``), and at prediction reads such a column as the codes of those
    categories. Production rows carry these columns as strings: :meth:`apply` turns each into a
    ``pd.Categorical`` with exactly the training categories, so every value gets the code it had at
    fit time and an unseen value gets none (missing, as LightGBM treats an unseen category).

    ``positions`` are the columns' places among the model's features; ``None`` when the model text
    does not tell them (an ordered category column, or ``categorical_feature`` naming other
    columns), and then they are the input's text and category columns, in order.
    """

    def __init__(self, dtypes: Sequence[pd.CategoricalDtype], positions: Sequence[int] | None) -> None:
        self.dtypes = tuple(dtypes)
        self.positions = tuple(positions) if positions is not None else None
        # Text categories of small batches are coded with a dict: far quicker than Index.get_indexer
        # on a few rows, and the same codes, since a string equals only that string.
        self._lookups = tuple(
            {c: i for i, c in enumerate(d.categories)} if all(isinstance(c, str) for c in d.categories) else None
            for d in self.dtypes
        )

    @classmethod
    def of(cls, booster: Any, model_text: str | None = None) -> PandasCategories | None:
        """The category columns of ``booster`` (``None`` when it was trained on none).

        ``model_text`` is the booster's text model when at hand (read only when there are categories).
        """
        categories = booster.pandas_categorical or []
        if not categories:
            return None
        dtypes = [pd.CategoricalDtype(list(values)) for values in categories]
        text = model_text if model_text is not None else booster.model_to_string()
        return cls(dtypes, _category_positions(text, booster.feature_name(), dtypes))

    def apply(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` (the model's columns, in its order) with each training category column a categorical
        of the training categories. A column that already is categorical is left for LightGBM, which
        maps other categories onto the training ones itself; ``X`` itself is returned when nothing
        changes, and is never modified."""
        positions = self.positions if self.positions is not None else self._positions_in(X)
        if positions is None:
            return X  # LightGBM's own error says the columns do not match; score() explains it
        changed: dict[Any, pd.Categorical] = {}
        kinds = X.dtypes.tolist()  # one call for all columns: quicker than reading each column's dtype
        for position, dtype, lookup in zip(positions, self.dtypes, self._lookups, strict=True):
            if isinstance(kinds[position], pd.CategoricalDtype):
                continue
            name = X.columns[position]
            codes = self._codes(X[name].to_numpy(), dtype, lookup)
            changed[name] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
        if not changed:
            return X
        X = X.copy(deep=False)
        for name, values in changed.items():
            X[name] = values
        return X

    def matrix(self, X: pd.DataFrame) -> np.ndarray | None:
        """``X`` as the array LightGBM's own pandas path would give its predictor, or ``None``.

        See :func:`as_matrix`; here the training category columns may also come as text.
        """
        positions = self.positions if self.positions is not None else self._positions_in(X)
        if positions is None:
            return None
        return _matrix(X, dict(zip(positions, zip(self.dtypes, self._lookups, strict=True), strict=True)))

    def by_column(self, X: pd.DataFrame) -> dict[str, pd.Index]:
        """The training categories of each training category column of ``X`` (the model's columns,
        in its order), by column name; empty when neither the model text nor ``X`` tells which
        columns they are."""
        positions = self.positions if self.positions is not None else self._positions_in(X)
        if positions is None or any(p >= X.shape[1] for p in positions):
            return {}
        return {str(X.columns[p]): d.categories for p, d in zip(positions, self.dtypes, strict=True)}

    @staticmethod
    def _codes(values: np.ndarray, dtype: pd.CategoricalDtype, lookup: dict[Any, int] | None) -> np.ndarray:
        """The code of each value among ``dtype``'s categories; -1 (missing) for any other value.

        By lookup, not ``pd.Categorical(values, dtype=...)``: no warning for values outside the
        categories, and a dict is far quicker than ``Index.get_indexer`` on a few rows.
        """
        if lookup is not None and len(values) <= _LOOKUP_ROWS:
            return np.array([lookup.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)
        return dtype.categories.get_indexer(values)

    def _positions_in(self, X: pd.DataFrame) -> tuple[int, ...] | None:
        """The input's text and category columns, when there are as many as the model's categories."""
        found = tuple(
            i
            for i, dtype in enumerate(X.dtypes)
            if isinstance(dtype, pd.CategoricalDtype)
            or not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))
        )
        return found if len(found) == len(self.dtypes) else None

    def mismatch(self, X: pd.DataFrame) -> str:
        """Why LightGBM refused the category columns of ``X``, and the fix."""
        if self.positions is not None:
            expected = f"{[str(X.columns[i]) for i in self.positions]}"
        else:
            expected = "(the model file does not name them)"
        given = [str(c) for c, d in X.dtypes.items() if isinstance(d, pd.CategoricalDtype)]
        return (
            f"This LightGBM model was trained on {len(self.dtypes)} pandas category column(s) {expected}. "
            f"Got category columns {given[:10]} instead. Pass those columns as strings or pandas "
            "categoricals, and every other column as numbers."
        )


def _category_positions(text: str, names: Sequence[str], dtypes: Sequence[pd.CategoricalDtype]) -> list[int] | None:
    """Where the training category columns sit among the features, read from the model text.

    LightGBM marks the unordered category columns of a pandas frame as its categorical features
    (``[categorical_feature: 1,3]``). When those are exactly as many as the recorded categories, and
    each feature's seen values (``feature_infos``) are codes of its categories, they are the
    columns; otherwise (ordered categories, or ``categorical_feature`` given by hand) ``None``.
    """
    start = text.rfind("\n[categorical_feature: ")
    if start < 0:
        return None
    value = text[start + len("\n[categorical_feature: ") : text.find("]", start)].strip()
    tokens = [t.strip() for t in value.removeprefix("name:").split(",") if t.strip()]
    index = {name: i for i, name in enumerate(names)}
    positions = [int(t) if t.isdigit() else index.get(t, -1) for t in tokens]
    if len(positions) != len(dtypes) or any(not 0 <= p < len(names) for p in positions):
        return None
    infos = re.search(r"^feature_infos=(.*)$", text[:1_000_000], flags=re.MULTILINE)
    if infos is not None:
        seen = infos.group(1).split(" ")
        for position, dtype in zip(positions, dtypes, strict=True):
            codes = seen[position].split(":") if position < len(seen) else []
            if codes and all(c.lstrip("-").isdigit() for c in codes) and max(map(int, codes)) >= len(dtype.categories):
                return None  # seen values that are no codes of these categories: another column
    return sorted(positions)


def as_matrix(X: pd.DataFrame) -> np.ndarray | None:
    """``X`` as the array LightGBM's own pandas path gives its predictor, for a model trained on no
    pandas category column; ``None`` where that path must run instead.

    LightGBM turns a frame into ``to_numpy`` of the common type of its columns and float32, with
    each category column replaced by its codes (missing: NaN). Its path copies the frame and
    converts column by column through pandas: about 2 ms for one row, against 50 µs for the
    predict itself on an array. The same array is built directly when every column is a plain
    number or bool (and, with :meth:`PandasCategories.matrix`, each category column holds the
    training categories or text). Anything else (nullable or text columns, other categories,
    repeated names) returns ``None``: LightGBM converts it, or says why it cannot.
    """
    return _matrix(X, {})


def _matrix(
    X: pd.DataFrame, categories: dict[int, tuple[pd.CategoricalDtype, dict[Any, int] | None]]
) -> np.ndarray | None:
    """``as_matrix``, with the training categories (and text lookups) of the category columns by position."""
    kinds = X.dtypes.tolist()
    numbers = []
    for j, kind in enumerate(kinds):
        if j in categories:
            if isinstance(kind, pd.CategoricalDtype) and not kind.categories.equals(categories[j][0].categories):
                return None  # LightGBM maps other categories onto the training ones itself
        elif isinstance(kind, np.dtype) and kind.kind in "biuf":
            numbers.append(kind)
        else:
            return None
    if not X.columns.is_unique:
        return None
    target = np.result_type(np.float32, *numbers)
    if not categories:
        return X.to_numpy(dtype=target)
    out = np.empty(X.shape, dtype=target)
    for j, name in enumerate(X.columns):
        column = X[name]
        if j not in categories:
            out[:, j] = column.to_numpy()
            continue
        dtype, lookup = categories[j]
        if isinstance(kinds[j], pd.CategoricalDtype):
            codes = column.array.codes
        else:
            codes = PandasCategories._codes(column.to_numpy(), dtype, lookup)
        out[:, j] = np.where(codes < 0, np.nan, codes)
    return out


class LightGBMModel(LoadedModel):
    """A loaded ``lightgbm.Booster``; the binary objective scores the positive-class probability.

    Columns that were pandas categoricals at training may come as strings (see :class:`PandasCategories`).
    """

    flavor = "lightgbm"

    categories: PandasCategories | None = None

    def __init__(self, raw: Any, *, format: str, metadata: dict[str, Any], model_text: str | None = None) -> None:
        names = metadata.get("feature_names") or []
        auto = all(_AUTO_NAME.fullmatch(n) for n in names)
        self._model_text = model_text
        super().__init__(raw, format=format, input_names=None if auto else names, metadata=metadata)
        self._n_features = len(names)

    def _prepare(self) -> None:
        self.categories = PandasCategories.of(self.raw, self._model_text)
        self._model_text = None  # read once; a big model's text is not kept twice

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
        matrix = as_matrix(X) if self.categories is None else self.categories.matrix(X)
        if matrix is None and self.categories is not None:
            X = self.categories.apply(X)
        try:
            out = self.raw.predict(X if matrix is None else matrix)
        except ValueError as exc:
            if self.categories is None or "categorical_feature do not match" not in str(exc):
                raise
            raise UsageError(self.categories.mismatch(X)) from exc
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
        text = booster.model_to_string()
        objective = booster.params.get("objective") or _objective(text)
        task = _task(str(objective))
        categories = PandasCategories.of(booster, text)
        dtypes = {}
        if categories is not None and categories.positions is not None and not auto:
            dtypes = {names[p]: "category" for p in categories.positions}  # the rest: numbers
        return ModelInfo(input_names=None if auto else tuple(names), input_dtypes=dtypes, task=task)

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
        text = saved.payload.decode("utf-8")
        booster = lightgbm.Booster(model_str=text)
        return LightGBMModel(booster, format=fmt, metadata=saved.metadata, model_text=text)


def _jsonable(value: Any) -> Any:
    """``pandas_categorical`` (lists of category values) as JSON, or its string form."""
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
    except (TypeError, ValueError):
        return str(value)
