"""A faster way to score small batches with scikit-learn's HistGradientBoosting pipelines.

scikit-learn spends most of a one-row ``predict_proba`` in Python: input validation in every
step, one Cython call per tree (200 trees, 200 calls), a ColumnTransformer that slices and
re-stacks frames. For the small batches a server sends, that overhead is the whole cost. This
module reads the fitted pipeline once and scores with a handful of numpy operations over all
trees at once: the ordinal encoding as dictionary lookups, the trees as one flat node table walked
level by level, the leaf values added in tree order (``cumsum``, not a pairwise sum), so every
score is bit-for-bit the one scikit-learn gives.

Only what it understands is compiled: a :class:`~sklearn.pipeline.Pipeline` of
ColumnTransformers (OrdinalEncoder, passthrough, drop) ending in a binary
HistGradientBoostingClassifier or a HistGradientBoostingRegressor, or in a binary LGBMClassifier
or an LGBMRegressor fitted on the transformers' array (its booster then scores the array the
compiled front builds: LightGBM's own predict is fast, scikit-learn's ColumnTransformer around it
is what costs milliseconds). Anything else, and any batch
it cannot take exactly (too many rows, a value that is not a plain string or number, a category
code scikit-learn itself would overflow, a category its encoder refuses), is left to scikit-learn:
:meth:`CompiledSklearn.predict` returns ``None`` and the caller asks scikit-learn.
:func:`compile_sklearn` checks the compiled scorer against scikit-learn on rows made from the
model's own split points and categories before handing it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from modelyard.flavors._columns import column_arrays

__all__ = ["MAX_ROWS", "CompiledSklearn", "compile_sklearn"]

MAX_ROWS = 256
"""Batches above this size go to scikit-learn, whose per-row cost is lower (Cython, threads)."""

_CHECK_ROWS = 400


@dataclass(frozen=True)
class _Ordinal:
    """One column of a fitted OrdinalEncoder whose categories are strings, as a lookup table."""

    codes: dict[str, float]
    missing: float | None  # the code of NaN: encoded_missing_value when NaN was a category in fit, else unknown's
    unknown: float | None  # the code of a category not seen in fit (handle_unknown="use_encoded_value");
    # None for both: the encoder raises on them (handle_unknown="error"), so such a batch is scikit-learn's

    def encode(self, values: Any) -> np.ndarray | None:
        """Codes of a string column (object or pandas string dtype), or ``None`` to defer."""
        if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
            return None
        out = np.empty(len(values), dtype=np.float64)
        for i, value in enumerate(np.asarray(values, dtype=object)):
            if type(value) is str:
                code = self.codes.get(value, self.unknown)
                if code is None:
                    return None  # scikit-learn raises "Found unknown categories": its error to give
                out[i] = code
            elif type(value) is float and math.isnan(value):
                if self.missing is None:
                    return None
                out[i] = self.missing
            else:
                return None  # None, numbers, pd.NA ...: scikit-learn's own rules, not ours
        return out


@dataclass(frozen=True)
class _NumericOrdinal:
    """One column of a fitted OrdinalEncoder whose categories are numbers (HistGradientBoosting's
    own encoder of its categorical features)."""

    categories: np.ndarray  # sorted, without NaN
    missing: float  # the code of NaN (NaN was a category in fit) or, when it was not, of unknowns
    unknown: float

    def encode(self, values: Any) -> np.ndarray | None:
        """The index of each value among the categories; missing and unknown values get theirs."""
        x = _floats(values)
        if x is None or np.isinf(x).any():
            return None  # scikit-learn refuses infinities here (check_array, allow-nan)
        at = np.minimum(np.searchsorted(self.categories, x), max(len(self.categories) - 1, 0))
        found = self.categories[at] == x if len(self.categories) else np.zeros(len(x), dtype=bool)
        return np.where(found, at.astype(np.float64), np.where(np.isnan(x), self.missing, self.unknown))


_Encoder = _Ordinal | _NumericOrdinal | None  # None: the column passes through as float64


def _floats(values: Any) -> np.ndarray | None:
    """A numeric column as float64, as scikit-learn's ``check_array`` would make it; ``None`` for
    anything whose conversion rules are not that simple (pandas nullable or categorical arrays,
    object, datetime ...)."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        return None
    return values.astype(np.float64, copy=False)


@dataclass(frozen=True)
class _Stage:
    """A fitted ColumnTransformer: each output column is one input column, encoded or passed."""

    sources: tuple[int, ...]
    encoders: tuple[_Encoder, ...]

    def apply(self, columns: Sequence[Any]) -> list[np.ndarray] | None:
        out = []
        for source, encoder in zip(self.sources, self.encoders, strict=True):
            column = _floats(columns[source]) if encoder is None else encoder.encode(columns[source])
            if column is None:
                return None
            out.append(column)
        return out


@dataclass(frozen=True)
class _Trees:
    """Every tree of a fitted HistGradientBoosting model in one flat node table.

    Leaves are their own children, so walking ``depth`` levels from each root lands on a leaf
    whatever the tree's own depth. A categorical split is a row of ``category_left``: for each
    code 0-255 whether it goes left (in the split's left set; else right if it was seen in fit,
    else the missing side), and in column 256 the missing side, for NaN and negative codes.
    """

    roots: np.ndarray  # (n_trees,) intp
    feature: np.ndarray  # (n_nodes,) intp
    threshold: np.ndarray  # (n_nodes,) float64
    missing_left: np.ndarray  # (n_nodes,) bool
    categorical: np.ndarray  # (n_nodes,) bool: a categorical split
    category_row: np.ndarray  # (n_nodes,) intp: its row of ``category_left`` (0 for others)
    category_left: np.ndarray  # (n_categorical_splits + 1, 257) bool
    children: np.ndarray  # (2 * n_nodes,) intp: left child at 2i, right child at 2i + 1
    value: np.ndarray  # (n_nodes,) float64
    depth: int
    categorical_features: np.ndarray  # indices of the categorical features
    baseline: float

    @classmethod
    def of(cls, model: Any) -> _Trees:
        known_bits, known_row = model._bin_mapper.make_known_categories_bitsets()
        known_row = np.asarray(known_row, dtype=np.intp)
        known_by_feature = _bits(np.asarray(known_bits, dtype=np.uint32))
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("nodes", "categorical", "children", "rows", "tables")}
        roots, offset, splits = [], 0, 1
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            own = np.arange(len(nodes)) + offset
            categorical = nodes["is_categorical"].astype(bool) & ~leaf
            left = np.where(leaf, own, nodes["left"].astype(np.intp) + offset)
            right = np.where(leaf, own, nodes["right"].astype(np.intp) + offset)
            parts["nodes"].append(nodes)
            parts["categorical"].append(categorical)
            parts["children"].append(np.column_stack([left, right]).ravel())
            at = np.flatnonzero(categorical)
            rows = np.zeros(len(nodes), dtype=np.intp)
            rows[at] = splits + np.arange(len(at))
            parts["rows"].append(rows)
            in_left = _bits(np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32))[nodes["bitset_idx"][at]]
            known = known_by_feature[known_row[nodes["feature_idx"][at]]]
            missing = nodes["missing_go_to_left"][at].astype(bool)[:, None]
            decided = np.where(in_left, True, np.where(known, False, missing))
            parts["tables"].append(np.hstack([decided, missing]))
            roots.append(offset)
            offset += len(nodes)
            splits += len(at)
        nodes = np.concatenate(parts["nodes"])
        is_categorical = model._bin_mapper.is_categorical  # in the trees' own feature order
        return cls(
            roots=np.asarray(roots, dtype=np.intp),
            feature=nodes["feature_idx"].astype(np.intp),
            threshold=nodes["num_threshold"].astype(np.float64),
            missing_left=nodes["missing_go_to_left"].astype(bool),
            categorical=np.concatenate(parts["categorical"]),
            category_row=np.concatenate(parts["rows"]),
            category_left=np.vstack([np.zeros((1, 257), dtype=bool), *parts["tables"]]),
            children=np.concatenate(parts["children"]),
            value=nodes["value"].astype(np.float64),
            depth=max(1, int(nodes["depth"].max())),
            categorical_features=np.flatnonzero(np.asarray([] if is_categorical is None else is_categorical, bool)),
            baseline=float(np.asarray(model._baseline_prediction).ravel()[0]),
        )

    def raw(self, X: np.ndarray) -> np.ndarray | None:
        """The sum of the baseline and every tree's leaf, in tree order; ``None`` to defer.

        Follows scikit-learn's ``_predict_one_from_raw_data`` branch for branch: NaN goes the
        missing way; a categorical value below 0, or not among the categories seen in fit, goes
        the missing way too; otherwise the left bitset decides.
        """
        if self.categorical_features.size and np.any(X[:, self.categorical_features] >= 256):
            return None  # scikit-learn casts such values to uint8 (undefined in C): do not guess
        n, trees = X.shape[0], len(self.roots)
        flat = np.ascontiguousarray(X).ravel()
        row_start = np.repeat(np.arange(n) * X.shape[1], trees)
        node = np.tile(self.roots, n)
        with_categories = len(self.category_left) > 1
        for _ in range(self.depth):
            value = flat[row_start + self.feature[node]]
            go_left = (value <= self.threshold[node]) | (np.isnan(value) & self.missing_left[node])
            if with_categories:
                at = np.flatnonzero(self.categorical[node])
                if at.size:
                    v = value[at]
                    code = np.where(np.isnan(v) | (v < 0), 256, v).astype(np.intp)
                    go_left[at] = self.category_left[self.category_row[node[at]], code]
            node = self.children[2 * node + ~go_left]
        leaves = self.value[node].reshape(n, trees)
        summed = np.cumsum(np.hstack([np.full((n, 1), self.baseline), leaves]), axis=1)
        return summed[:, -1]


def _bits(words: np.ndarray) -> np.ndarray:
    """Bitsets of shape (k, 8) uint32 as (k, 256) bool: bit ``c`` of a row is ``c`` in its set."""
    codes = np.arange(256)
    words = words.reshape(-1, 8)
    return ((words[:, codes >> 5] >> (codes & 31).astype(np.uint32)) & 1).astype(bool)


@dataclass(frozen=True)
class CompiledSklearn:
    """A fitted pipeline as lookup tables and one node table; see the module docstring."""

    columns: tuple[str, ...]  # the input columns, by name, in the order the first stage reads them
    stages: tuple[_Stage, ...]
    trees: _Trees | None  # None when a LightGBM booster scores
    model: Any  # the HistGradientBoosting estimator (for its loss's link function), or the LightGBM one
    classifier: bool
    booster: Any = None  # the LightGBM Booster of a pipeline ending in LGBMClassifier/LGBMRegressor

    def predict(self, X: pd.DataFrame) -> np.ndarray | None:
        """Scores of ``X`` (the positive class's probability, or the regression value), or
        ``None`` when this batch is scikit-learn's to score."""
        if not isinstance(X, pd.DataFrame) or not 0 < len(X) <= MAX_ROWS:
            return None
        return self._scores(X)

    def _scores(self, X: pd.DataFrame) -> np.ndarray | None:
        columns = column_arrays(X, self.columns)
        for stage in self.stages:
            columns = stage.apply(columns) if columns is not None else None
        if columns is None:
            return None
        if self.booster is not None:  # LightGBM's predict_proba(X)[:, 1] and predict(X) are this call
            return np.asarray(self.booster.predict(np.column_stack(columns)), dtype=np.float64)
        assert self.trees is not None
        raw = self.trees.raw(np.column_stack(columns))
        if raw is None:
            return None
        if self.classifier:
            return np.asarray(self.model._loss.predict_proba(raw)[:, 1])
        return np.asarray(self.model._loss.link.inverse(raw))


def compile_sklearn(estimator: Any) -> CompiledSklearn | None:
    """The compiled form of ``estimator``, or ``None`` if it is not one this module understands
    or its compiled scores differ from scikit-learn's on the check rows."""
    try:
        compiled = _compile(estimator)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None  # a layout of a scikit-learn version we do not know: keep scikit-learn
    try:
        agrees = compiled is not None and _agrees(compiled, estimator)
    except Exception:  # scikit-learn refused the check rows: a model we do not understand after all
        return None
    return compiled if agrees else None


def _compile(estimator: Any) -> CompiledSklearn | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    model = steps[-1]
    transformers = [s for s in steps[:-1] if not (isinstance(s, str) and s == "passthrough") and s is not None]
    booster = _lightgbm_booster(model)
    if booster is not None:
        classifier = hasattr(model, "classes_")
        if not transformers:
            return None  # a bare LightGBM model: the scikit-learn flavor calls its booster itself
    else:
        classifier = isinstance(model, HistGradientBoostingClassifier)
        if not (classifier or isinstance(model, HistGradientBoostingRegressor)):
            return None
        if classifier and (len(model.classes_) != 2 or model.n_trees_per_iteration_ != 1):
            return None
    if getattr(model, "_preprocessor", None) is not None:
        transformers.append(model._preprocessor)
    if not all(isinstance(t, ColumnTransformer) for t in transformers):
        return None
    names = getattr(transformers[0] if transformers else model, "feature_names_in_", None)
    if names is None:
        return None  # fitted on an array: no column names to read a frame by
    stages = []
    for transformer in transformers:
        stage = _stage(transformer)
        if stage is None:
            return None
        stages.append(stage)
    if not transformers:
        stages.append(_Stage(tuple(range(len(names))), (None,) * len(names)))
    if len(stages[-1].sources) != model.n_features_in_:
        return None
    trees = None if booster is not None else _Trees.of(model)
    return CompiledSklearn(tuple(str(n) for n in names), tuple(stages), trees, model, classifier, booster)


def _lightgbm_booster(model: Any) -> Any:
    """The Booster of a fitted binary LGBMClassifier or an LGBMRegressor that was fitted on an array
    (no pandas categories to recode); None for anything else."""
    module = type(model).__module__
    if not module.startswith("lightgbm") or type(model).__name__ not in ("LGBMClassifier", "LGBMRegressor"):
        return None
    booster = getattr(model, "booster_", None) if getattr(model, "fitted_", False) else None
    if booster is None or booster.pandas_categorical:
        return None
    if type(model).__name__ == "LGBMClassifier" and (
        len(model.classes_) != 2 or booster.num_model_per_iteration() != 1
    ):
        return None
    return booster


def _stage(transformer: Any) -> _Stage | None:
    """A fitted ColumnTransformer as a :class:`_Stage`, or ``None`` if a part is not understood."""
    from sklearn.preprocessing import OrdinalEncoder

    if getattr(transformer, "sparse_output_", False) or getattr(transformer, "transformer_weights", None):
        return None
    sources: list[int] = []
    encoders: list[_Encoder] = []
    for name, fitted, _ in transformer.transformers_:
        if isinstance(fitted, str) and fitted == "drop":
            continue
        picked = list(transformer._transformer_to_input_indices[name])
        if not picked:
            continue
        if (isinstance(fitted, str) and fitted == "passthrough") or _passes_floats(fitted):
            encoded: list[_Encoder] | None = [None] * len(picked)
        elif type(fitted) is OrdinalEncoder:
            encoded = _ordinals(fitted)
        else:
            return None
        if encoded is None:
            return None
        sources.extend(picked)
        encoders.extend(encoded)
    return _Stage(tuple(sources), tuple(encoders))


def _passes_floats(fitted: Any) -> bool:
    """An identity FunctionTransformer (what ``"passthrough"`` becomes once fitted), or the
    ``check_array(dtype=float64)`` one HistGradientBoosting puts before its numeric features."""
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils.validation import check_array

    if type(fitted) is not FunctionTransformer or fitted.inverse_func is not None or fitted.validate:
        return False
    func = fitted.func
    if func is None:
        return True
    return (
        isinstance(func, partial)
        and func.func is check_array
        and not func.args
        and set(func.keywords) == {"dtype", "ensure_all_finite"}
        and func.keywords["ensure_all_finite"] is False
        and list(np.atleast_1d(func.keywords["dtype"])) == [np.float64]
    )


def _ordinals(encoder: Any) -> list[_Encoder] | None:
    if encoder._infrequent_enabled or encoder.dtype not in (np.float64, float):
        return None
    if encoder.handle_unknown not in ("use_encoded_value", "error"):
        return None
    # handle_unknown="error": a batch holding an unknown category is deferred, for scikit-learn to refuse
    unknown = None if encoder.handle_unknown == "error" else float(encoder.unknown_value)
    out: list[_Encoder] = []
    for categories in encoder.categories_:
        values = list(categories)
        has_nan = bool(values) and isinstance(values[-1], float) and math.isnan(values[-1])
        if has_nan:
            values = values[:-1]
        missing = float(encoder.encoded_missing_value) if has_nan else unknown
        if all(type(v) is str for v in values):
            out.append(_Ordinal({v: float(i) for i, v in enumerate(values)}, missing, unknown))
        elif (
            unknown is not None
            and categories.dtype.kind in "iuf"
            and np.all(np.abs(np.asarray(values, dtype=np.float64)) < 2.0**53)
        ):
            # (numbers past 2**53 would not compare exactly as floats)
            numbers = np.asarray(values, dtype=np.float64)
            out.append(_NumericOrdinal(numbers, unknown if missing is None else missing, unknown))
        else:
            return None  # mixed categories (scikit-learn's own ordering rules), or numbers it may refuse
    return out


def _agrees(compiled: CompiledSklearn, estimator: Any) -> bool:
    """Whether the compiled scores equal scikit-learn's, bit for bit, on rows that reach every
    kind of branch: each split point and its neighbours, NaN, every category, an unknown one."""
    frame = _check_frame(compiled)
    ours = compiled._scores(frame)
    if ours is None:
        return False
    theirs = estimator.predict_proba(frame)[:, 1] if compiled.classifier else estimator.predict(frame)
    return bool(np.array_equal(ours, np.asarray(theirs, dtype=np.float64), equal_nan=True))


def _check_frame(compiled: CompiledSklearn) -> pd.DataFrame:
    """Check rows: for each input column, values drawn from what the model tells apart in it."""
    rng = np.random.default_rng(0)
    pools: list[list[Any]] = [[] for _ in compiled.columns]
    strings: dict[int, _Ordinal] = {}
    origin = list(range(len(compiled.columns)))
    for depth, stage in enumerate(compiled.stages):
        for source, encoder in zip(stage.sources, stage.encoders, strict=True):
            if isinstance(encoder, _Ordinal) and depth == 0:  # later stages get floats: strings defer there
                strings[source] = encoder
            elif isinstance(encoder, _NumericOrdinal):
                pools[origin[source]].extend(encoder.categories.tolist())
        origin = [origin[source] for source in stage.sources]
    trees = compiled.trees
    if trees is not None:  # a LightGBM booster scores the same array either way: the front is what is checked
        split = ~trees.categorical & (trees.children[0::2] != np.arange(len(trees.feature)))
        for feature, threshold in zip(trees.feature[split], trees.threshold[split], strict=True):
            if np.isfinite(threshold):
                pools[origin[feature]].extend(
                    [threshold, np.nextafter(threshold, np.inf), np.nextafter(threshold, -np.inf)]
                )
    data: dict[str, Any] = {}
    for i, name in enumerate(compiled.columns):
        if i in strings:
            encoder = strings[i]
            choices: list[Any] = list(encoder.codes)
            choices += [float("nan")] if encoder.missing is not None else []  # else scikit-learn raises
            choices += ["<a category not seen in fit>"] if encoder.unknown is not None else []
            data[name] = pd.Series(rng.choice(np.asarray(choices, dtype=object), _CHECK_ROWS), dtype=object)
        else:
            pool = np.asarray([*pools[i], np.nan, -1.0, 0.0, 1.0, 2.0], dtype=np.float64)
            data[name] = rng.choice(pool, _CHECK_ROWS)
    return pd.DataFrame(data)
