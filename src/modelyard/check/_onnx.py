"""ONNX parity: convert the model (skl2onnx, onnxmltools), compare its scores and latency with the original.

Tree models converted to ONNX compare features as float32; a value close to a split threshold can
then fall on the other side, so a few rows may differ a lot while the rest agree. Those rows are
named. The ONNX form may be served instead only when every row agrees within the tolerance.

HistGradientBoosting models are converted by a converter of our own (``_hist_gradient_boosting``),
passed to skl2onnx for the one call: skl2onnx (up to 1.20 at least) writes every split as numeric,
so a categorical split becomes ``x <= 0`` and every row can score wrong, and it hands protobuf a
Python bool for an int attribute, which protobuf 7 refuses ("Expected an int, got a boolean").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.check._result import Check, Status
from modelyard.flavors import LoadedModel, OnnxFlavor, SavedModel

__all__ = ["ONNX_TOLERANCE", "OnnxConversion", "convert_to_onnx", "onnx_check"]

ONNX_TOLERANCE = 1e-4
"""Largest absolute score difference for the ONNX form to count as the same model."""


@dataclass(frozen=True)
class OnnxConversion:
    """The converted model, or why there is none (``model`` None, ``reason`` set)."""

    model: LoadedModel | None
    frame_columns: list[str] | None
    reason: str = ""
    tool: str = ""


def convert_to_onnx(loaded: LoadedModel, frame: pd.DataFrame) -> OnnxConversion:
    """Convert a loaded scikit-learn or LightGBM model to ONNX and load it with the ONNX flavor."""
    if loaded.flavor == "onnx":
        return OnnxConversion(None, None, "the model is already ONNX")
    if loaded.flavor not in ("sklearn", "lightgbm"):
        return OnnxConversion(None, None, f"no ONNX converter for the {loaded.flavor} flavor")
    try:
        if loaded.flavor == "sklearn":
            proto, columns, tool = _from_sklearn(loaded, frame)
        else:
            proto, columns, tool = _from_lightgbm(loaded, frame)
        payload = proto.SerializeToString()
        onnx_model = OnnxFlavor().load(SavedModel("onnx", "onnx", payload, {"task": loaded.task}))
    except ImportError as exc:
        return OnnxConversion(None, None, f"the converter is not installed ({exc.name}); pip install 'modelyard[onnx]'")
    except Exception as exc:
        return OnnxConversion(None, None, f"conversion failed: {_why(exc)}")
    return OnnxConversion(onnx_model, columns, tool=tool)


def _why(exc: BaseException) -> str:
    """One line: the error, cut short, and the error that caused it (converters wrap the real one)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    why = f"{type(exc).__name__}: {text[:100]}{'...' if len(text) > 100 else ''}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        inner = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        why += f" (caused by {type(cause).__name__}: {inner[:160]})"
    return why


def _from_sklearn(loaded: LoadedModel, frame: pd.DataFrame) -> tuple[Any, list[str], str]:
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    columns = list(loaded.input_names) if loaded.input_names is not None else [str(c) for c in frame.columns]
    if all(pd.api.types.is_numeric_dtype(frame[c]) for c in columns):
        # One float tensor: what a bare estimator converts to (only pipelines take one input per column).
        initial: list[tuple[str, Any]] = [("input", FloatTensorType([None, len(columns)]))]
    elif loaded.input_names is None:
        raise ValueError("the model takes an unnamed array and the inputs are not all numeric")
    else:
        initial = [
            (c, FloatTensorType([None, 1]) if pd.api.types.is_numeric_dtype(frame[c]) else StringTensorType([None, 1]))
            for c in columns
        ]
    options = {id(loaded.raw): {"zipmap": False}} if hasattr(loaded.raw, "predict_proba") else {}
    target_opset = None
    lightgbm = _final_lightgbm(loaded.raw)
    if lightgbm is not None:
        if lightgbm.booster_.pandas_categorical:
            raise ValueError("the model uses pandas categorical columns, which onnxmltools cannot convert")
        _register_lightgbm()
        if hasattr(lightgbm, "predict_proba"):
            options[id(lightgbm)] = {"zipmap": False}
        # onnxmltools writes ai.onnx.ml 3 trees; skl2onnx refuses a model that mixes in newer ones
        target_opset = {"": skl2onnx.get_latest_tested_opset_version(), "ai.onnx.ml": 3}
    proto = skl2onnx.convert_sklearn(
        loaded.raw,
        initial_types=initial,
        options=options or None,
        target_opset=target_opset,
        custom_conversion_functions=_own_converters(),
    )
    tool = f"skl2onnx {skl2onnx.__version__}"
    if lightgbm is not None:
        import onnxmltools

        tool += f" with onnxmltools {onnxmltools.__version__}"
    return proto, columns, tool


def _final_lightgbm(estimator: Any) -> Any:
    """The LGBMClassifier or LGBMRegressor that ``estimator`` is or ends in, else None."""
    from sklearn.pipeline import Pipeline

    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return last if type(last).__name__ in ("LGBMClassifier", "LGBMRegressor") else None


def _register_lightgbm() -> None:
    """Teach skl2onnx LightGBM's scikit-learn models with onnxmltools' converter, as skl2onnx's
    documentation does (a registration for this process; registering again replaces it)."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        LGBMRegressor,
        "LightGbmLGBMRegressor",
        calculate_linear_regressor_output_shapes,
        convert_lightgbm,
        options={"split": None},
    )


def _own_converters() -> dict[type, Any]:
    """Converters used instead of skl2onnx's own, for this conversion only (nothing is registered)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return {
        HistGradientBoostingClassifier: _hist_gradient_boosting,
        HistGradientBoostingRegressor: _hist_gradient_boosting,
    }


_POST_TRANSFORMS = {"LogitLink": "LOGISTIC", "MultinomialLogit": "SOFTMAX", "IdentityLink": "NONE", "LogLink": "NONE"}
"""The ONNX post transform for each link of scikit-learn's losses (LogLink: an Exp node follows)."""


def _hist_gradient_boosting(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter for HistGradientBoostingClassifier/Regressor, categorical splits included.

    A categorical split sends a category left when its bit is set in the node's bitset; unknown
    categories, negative values and missing values take the node's missing side. In ONNX it becomes
    a chain of ``x == category`` nodes listing the categories of the other side, the known ones
    that do not go the missing way: a match goes to that side, the end of the chain (and NaN,
    equal to nothing) to the missing side. Attributes are plain ints, floats and strings.
    """
    model = operator.raw_operator
    classifier = hasattr(model, "classes_")
    prefix = "class" if classifier else "target"
    columns, values = _hgb_columns(model)
    thresholds = model._bin_mapper.bin_thresholds_
    known = {p: [int(c) for c in thresholds[p]] for p in range(len(columns)) if model._bin_mapper.is_categorical_[p]}
    nodes: list[tuple[Any, ...]] = []
    leaves: list[tuple[Any, ...]] = []
    per_iteration = int(model.n_trees_per_iteration_)
    for iteration, predictors in enumerate(model._predictors):
        for k, predictor in enumerate(predictors):
            tree = _hgb_tree(predictor, iteration * per_iteration + k, k, columns, values, known)
            nodes += tree[0]
            leaves += tree[1]
    attrs: dict[str, Any] = {
        f"nodes_{field}": list(items) for field, items in zip(_NODE_FIELDS, zip(*nodes, strict=True), strict=True)
    }
    attrs |= {
        f"{prefix}_{field}": list(items) for field, items in zip(_LEAF_FIELDS, zip(*leaves, strict=True), strict=True)
    }
    attrs["base_values"] = [float(v) for v in np.ravel(model._baseline_prediction)]
    link = type(model._loss.link).__name__
    if link not in _POST_TRANSFORMS:
        raise NotImplementedError(f"no ONNX form for the {type(model._loss).__name__} loss ({link})")
    raw = classifier and container.get_options(model, {"raw_scores": False})["raw_scores"]
    attrs["post_transform"] = "NONE" if raw else _POST_TRANSFORMS[link]
    if classifier:
        classes = model.classes_
        if all(isinstance(c, str) for c in classes):
            attrs["classlabels_strings"] = [str(c) for c in classes]
        else:
            attrs["classlabels_int64s"] = [int(c) for c in classes]
        outputs = [operator.outputs[0].full_name, operator.outputs[1].full_name]
        op_type = "TreeEnsembleClassifier"
    else:
        attrs |= {"n_targets": 1, "aggregate_function": "SUM"}
        output = operator.outputs[0].full_name
        outputs = [scope.get_unique_variable_name("raw_prediction") if link == "LogLink" else output]
        op_type = "TreeEnsembleRegressor"
    container.add_node(
        op_type,
        operator.input_full_names,
        outputs,
        op_domain="ai.onnx.ml",
        op_version=1,
        name=scope.get_unique_operator_name(op_type),
        **attrs,
    )
    if not classifier and link == "LogLink":
        container.add_node("Exp", outputs, [output], name=scope.get_unique_operator_name("Exp"))


_NODE_FIELDS = (
    "treeids", "nodeids", "featureids", "modes", "values", "truenodeids", "falsenodeids", "missing_value_tracks_true"
)  # fmt: skip
_LEAF_FIELDS = ("treeids", "nodeids", "ids", "weights")


def _hgb_columns(model: Any) -> tuple[list[int], dict[int, np.ndarray]]:
    """For each column the trees read: the column of the model's input it comes from, and for the
    categorical ones the input value of each category code (absent: the code is the value).

    scikit-learn (1.9 at least) encodes categorical columns with an inner OrdinalEncoder and moves
    them first; older versions read the input as it is.
    """
    pre = getattr(model, "_preprocessor", None)
    if pre is None:
        return list(range(model._bin_mapper.is_categorical_.size)), {}
    columns = [-1] * model._bin_mapper.is_categorical_.size
    values: dict[int, np.ndarray] = {}
    for name, transformer, selected in pre.transformers_:
        chosen = np.asarray(selected)
        chosen = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(int)
        out = range(pre.n_features_in_)[pre.output_indices_[name]]
        if len(out) != len(chosen):
            raise ValueError(f"unexpected inner preprocessing of the model ({name}: {len(chosen)} -> {len(out)})")
        for k, (position, column) in enumerate(zip(out, chosen, strict=True)):
            columns[position] = int(column)
            if hasattr(transformer, "categories_"):
                try:
                    values[position] = np.asarray(transformer.categories_[k], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError("the model's categorical columns are not numbers; encode them first") from None
    if -1 in columns:
        raise ValueError("unexpected inner preprocessing of the model (a column the trees read has no source)")
    return columns, values


def _hgb_tree(
    predictor: Any,
    tree_id: int,
    target: int,
    columns: list[int],
    values: dict[int, np.ndarray],
    known: dict[int, list[int]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One tree's nodes and leaves (``_NODE_FIELDS``, ``_LEAF_FIELDS``), as plain Python values.

    The nodes keep their scikit-learn ids (0, the root, first); the links of a chain take new ones.
    """
    nodes: list[tuple[Any, ...]] = []
    leaves: list[tuple[Any, ...]] = []
    spare = len(predictor.nodes)
    for i, node in enumerate(predictor.nodes):
        if node["is_leaf"]:
            nodes.append((tree_id, i, 0, "LEAF", 0.0, 0, 0, 0))
            leaves.append((tree_id, i, target, float(node["value"])))
            continue
        position, left, right = int(node["feature_idx"]), int(node["left"]), int(node["right"])
        feature, missing_left = columns[position], bool(node["missing_go_to_left"])
        if not node["is_categorical"]:
            threshold = float(node["num_threshold"])
            nodes.append((tree_id, i, feature, "BRANCH_LEQ", threshold, left, right, int(missing_left)))
            continue
        bitset = predictor.raw_left_cat_bitsets[int(node["bitset_idx"])]
        listed = [c for c in known[position] if bool((int(bitset[c // 32]) >> (c % 32)) & 1) != missing_left]
        hit, miss = (right, left) if missing_left else (left, right)
        if not listed:  # every known category takes the missing side
            nodes.append((tree_id, i, feature, "BRANCH_LEQ", 0.0, miss, miss, 0))
            continue
        ids = [i, *range(spare, spare + len(listed) - 1)]
        spare += len(listed) - 1
        for k, (node_id, code) in enumerate(zip(ids, listed, strict=True)):
            value = float(values[position][code]) if position in values else float(code)
            follow = ids[k + 1] if k + 1 < len(ids) else miss
            nodes.append((tree_id, node_id, feature, "BRANCH_EQ", value, hit, follow, 0))
    return nodes, leaves


def _from_lightgbm(loaded: LoadedModel, frame: pd.DataFrame) -> tuple[Any, list[str], str]:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    if loaded.metadata.get("pandas_categorical"):
        raise ValueError("the model uses pandas categorical columns, which onnxmltools cannot convert")
    columns = list(loaded.input_names) if loaded.input_names is not None else [str(c) for c in frame.columns]
    proto = onnxmltools.convert_lightgbm(
        loaded.raw, initial_types=[("input", FloatTensorType([None, len(columns)]))], zipmap=False
    )
    return proto, columns, f"onnxmltools {onnxmltools.__version__}"


def onnx_check(
    conversion: OnnxConversion,
    frame: pd.DataFrame,
    native: np.ndarray,
    *,
    onnx_p99_ms: float | None = None,
    native_p99_ms: float | None = None,
) -> tuple[Check, dict[str, float]]:
    """The ONNX row: whether the converted model agrees with the original on every row."""
    if conversion.model is None:
        if conversion.reason == "the model is already ONNX":
            return Check("onnx", Status.PASS, conversion.reason), {"onnx_servable": 1.0}
        if conversion.reason.startswith("no ONNX converter"):
            return Check("onnx", Status.SKIP, conversion.reason), {"onnx_servable": 0.0}
        fix = "serve the model in its own flavor; ONNX is optional"
        return Check("onnx", Status.WARN, conversion.reason, fix=fix), {"onnx_servable": 0.0}
    scores = conversion.model.score(frame[conversion.frame_columns] if conversion.frame_columns else frame)
    diff = np.abs(scores - native)
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = float(diff.max()) if diff.size else 0.0
    measurements = {"onnx_max_abs_diff": worst, "onnx_servable": 0.0}
    speed = ""
    if onnx_p99_ms is not None and native_p99_ms is not None:
        measurements["onnx_latency_p99_ms"] = onnx_p99_ms
        speed = f"; p99 {onnx_p99_ms:.2f} ms in ONNX vs {native_p99_ms:.2f} ms"
    measured = f"max |diff| {worst:.3g}{speed}"
    budget = f"<= {ONNX_TOLERANCE:g}"
    if worst <= ONNX_TOLERANCE:
        measurements["onnx_servable"] = 1.0
        return (
            Check(
                "onnx",
                Status.PASS,
                f"converted with {conversion.tool}; all {len(frame):,} rows agree: the ONNX form may be served",
                measured=measured,
                budget=budget,
            ),
            measurements,
        )
    differing = np.flatnonzero(diff > ONNX_TOLERANCE)
    shown = ", ".join(
        f"row {int(i)} (index {frame.index[int(i)]!r}): {native[int(i)]:.4f} vs {scores[int(i)]:.4f}"
        for i in differing[:5]
    )
    return (
        Check(
            "onnx",
            Status.WARN,
            f"converted with {conversion.tool}, but {len(differing):,} of {len(frame):,} rows differ by more than "
            f"{ONNX_TOLERANCE:g} ({shown}); float32 casts flip tree splits near thresholds. "
            "Do not serve the ONNX form",
            measured=measured,
            budget=budget,
            fix="serve the original flavor, or train on float32-rounded features so splits fall between values",
            details={"rows": differing[:50].tolist(), "max_abs_diff": worst},
        ),
        measurements,
    )
