"""ONNX models, scored with ONNX Runtime on the CPU (one intra-op thread by default)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import MissingExtraError, UsageError
from modelyard.flavors._base import LoadedModel, ModelInfo, SavedModel, check_serialization
from modelyard.flavors._columns import column_arrays

__all__ = ["ONNX_SIGNATURE_DTYPES", "OnnxFlavor", "OnnxModel"]

# ONNX tensor element types (as onnxruntime names them) → numpy dtype and signature dtype.
_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
# onnx.TensorProto element type numbers → the onnxruntime names above.
_ELEM_TYPE = {
    1: "tensor(float)",
    11: "tensor(double)",
    7: "tensor(int64)",
    6: "tensor(int32)",
    9: "tensor(bool)",
    8: "tensor(string)",
}
ONNX_SIGNATURE_DTYPES = {
    "tensor(float)": "float",
    "tensor(double)": "float",
    "tensor(int64)": "int",
    "tensor(int32)": "int",
    "tensor(bool)": "bool",
    "tensor(string)": "string",
}


def _import_onnx(purpose: str) -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise MissingExtraError("onnx", "onnx", purpose) from exc
    return onnx


def _import_onnxruntime(purpose: str) -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", "onnx", purpose) from exc
    return onnxruntime


def _parse(obj: Any, onnx: Any) -> Any:
    """A ``ModelProto`` from a ``ModelProto`` or the bytes of one."""
    if isinstance(obj, bytes | bytearray):
        try:
            model = onnx.load_model_from_string(bytes(obj))
        except Exception as exc:
            raise UsageError(f"These {len(obj)} bytes are not an ONNX model: {exc}") from exc
        if not model.graph.output:  # b"" and other bytes protobuf reads as an empty model
            raise UsageError(f"These {len(obj)} bytes are not an ONNX model: they hold no graph with outputs")
        return model
    if isinstance(obj, onnx.ModelProto):
        return obj
    raise UsageError(f"The 'onnx' flavor takes an onnx.ModelProto or its bytes. Got {type(obj).__name__} instead.")


def _graph_inputs(model: Any) -> list[tuple[str, str, list[int | None]]]:
    """(name, type, shape) of the real inputs (initializers excluded)."""
    initializers = {i.name for i in model.graph.initializer}
    out = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        kind = _ELEM_TYPE.get(tensor.elem_type, f"elem_type {tensor.elem_type}")
        shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        out.append((value.name, kind, shape))
    return out


def _task(model: Any) -> str:
    """``binary`` for classifiers (a ZipMap, an output named like 'prob...', or an int64 label output)."""
    classifier = any(n.op_type == "ZipMap" for n in model.graph.node) or any(
        "prob" in o.name.lower() or o.type.tensor_type.elem_type == 7 for o in model.graph.output
    )
    return "binary" if classifier else "regression"


def _expose_zipmap_input(model: Any, onnx: Any) -> tuple[str | None, list[Any] | None]:
    """Add the probability tensor that feeds a ZipMap node to the graph outputs.

    skl2onnx classifiers end in ZipMap, which turns an (n, k) tensor into a list of n dicts; reading
    the tensor instead keeps scoring vectorised. Returns its name and the class labels.
    """
    outputs = {o.name for o in model.graph.output}
    for node in model.graph.node:
        if node.op_type == "ZipMap" and any(o in outputs for o in node.output):
            labels: list[Any] | None = None
            for attr in node.attribute:
                if attr.name == "classlabels_int64s":
                    labels = list(attr.ints)
                elif attr.name == "classlabels_strings":
                    labels = [s.decode("utf-8") for s in attr.strings]
            name = node.input[0]
            if name not in outputs:
                elem_type = onnx.TensorProto.FLOAT
                inferred = onnx.shape_inference.infer_shapes(model)
                for value in inferred.graph.value_info:
                    if value.name == name and value.type.tensor_type.elem_type:
                        elem_type = value.type.tensor_type.elem_type
                model.graph.output.append(onnx.helper.make_tensor_value_info(name, elem_type, None))
            return name, labels
    return None, None


class OnnxModel(LoadedModel):
    """A loaded ONNX model (``raw`` is the ``onnxruntime.InferenceSession``)."""

    flavor = "onnx"

    def __init__(
        self,
        raw: Any,
        *,
        format: str,
        metadata: dict[str, Any],
        output_name: str,
        output_kind: str,
    ) -> None:
        self._inputs = [(i.name, i.type, list(i.shape)) for i in raw.get_inputs()]
        per_column = len(self._inputs) > 1
        names = [name for name, _, _ in self._inputs] if per_column else None
        super().__init__(raw, format=format, input_names=names, metadata=metadata)
        self.output_name = output_name
        self._output_kind = output_kind  # "tensor" or "zipmap"

    def _feeds(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.input_names is None:  # one tensor: stack the columns
            name, kind, shape = self._inputs[0]
            width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
            if width is not None and width != X.shape[1]:
                raise UsageError(
                    f"The ONNX model's input {name!r} takes {width} columns. Got {X.shape[1]} columns instead."
                )
            return {name: X.to_numpy(dtype=_NUMPY.get(kind, np.float32))}
        missing = [n for n in self.input_names if n not in X.columns]
        if missing:
            raise UsageError(
                f"The input is missing {len(missing)} column(s) the model reads: {missing[:10]}. "
                f"Got columns {list(X.columns)[:10]}."
            )
        # Arrays straight from the frame: a Series per column cost 1-2 ms of a one-row call (19
        # inputs) against 0.1 ms for the ONNX run itself.
        arrays = column_arrays(X, self.input_names)
        if arrays is None:  # every input is there, so some column is named twice
            inputs = set(self.input_names)
            twice = sorted({str(n) for n in X.columns[X.columns.duplicated()] if n in inputs})
            if twice:
                raise UsageError(
                    f"The input names column(s) {twice[:10]} more than once; give each column one name "
                    "so that it is clear which one the model reads."
                )
            arrays = [X[name] for name in self.input_names]  # a column it does not read is repeated
        feeds = {}
        for (name, kind, shape), values in zip(self._inputs, arrays, strict=True):
            dtype = _NUMPY.get(kind, np.float32)
            if isinstance(values, np.ndarray):
                column = values.astype(dtype, copy=False)
            else:  # a pandas array (strings, nullable numbers), or a Series
                column = values.to_numpy(dtype=dtype)
            if kind == "tensor(string)":
                column = column.astype(str).astype(object)
            feeds[name] = column.reshape(-1, 1) if len(shape) != 1 else column
        return feeds

    def _predict(self, X: pd.DataFrame) -> Any:
        out = self.raw.run([self.output_name], self._feeds(X))[0]
        if self._output_kind == "zipmap":  # a list of {label: probability}; only for models we cannot rewrite
            positive = sorted(out[0])[1] if out else 0
            return np.fromiter((row[positive] for row in out), dtype=np.float64, count=len(out))
        if out.ndim == 2 and out.shape[1] > 2:
            raise UsageError(
                f"Only binary classification and regression are supported for now: the ONNX output "
                f"{self.output_name!r} has {out.shape[1]} columns."
            )
        return out


class OnnxFlavor:
    """ONNX models: an ``onnx.ModelProto``, or its bytes with ``flavor="onnx"``."""

    name = "onnx"
    serializations: tuple[str, ...] = ("onnx",)

    def __init__(self, intra_op_num_threads: int = 1) -> None:
        self.intra_op_num_threads = intra_op_num_threads

    def handles(self, obj: Any) -> bool:
        """An ``onnx.ModelProto``, told by its type name (ONNX is not imported)."""
        module = type(obj).__module__ or ""
        return module.split(".", 1)[0] == "onnx" and type(obj).__name__ == "ModelProto"

    def describe(self, obj: Any) -> ModelInfo:
        """Input names and types: one per column, or ``None`` names for a single tensor input."""
        onnx = _import_onnx("Reading an ONNX model")
        model = _parse(obj, onnx)
        inputs = _graph_inputs(model)
        if len(inputs) == 1:
            kind = ONNX_SIGNATURE_DTYPES.get(inputs[0][1], "float")
            return ModelInfo(input_names=None, input_dtypes={"*": kind}, task=_task(model))
        return ModelInfo(
            input_names=tuple(n for n, _, _ in inputs),
            input_dtypes={n: ONNX_SIGNATURE_DTYPES.get(k, "float") for n, k, _ in inputs},
            task=_task(model),
        )

    def save(self, obj: Any, *, serialization: str | None = None, trust: bool = False) -> SavedModel:
        """Store the serialized ONNX model, recording its inputs, outputs and producer."""
        fmt = check_serialization(self.name, serialization, self.serializations)
        onnx = _import_onnx("Saving an ONNX model")
        model = _parse(obj, onnx)
        payload = bytes(obj) if isinstance(obj, bytes | bytearray) else model.SerializeToString()
        inputs = _graph_inputs(model)
        metadata: dict[str, Any] = {
            "task": _task(model),
            "onnx_version": onnx.__version__,
            "producer": f"{model.producer_name} {model.producer_version}".strip(),
            "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
            "inputs": [{"name": n, "type": k, "shape": s} for n, k, s in inputs],
            "outputs": [o.name for o in model.graph.output],
            "input_names": [n for n, _, _ in inputs] if len(inputs) > 1 else None,
        }
        return SavedModel(self.name, fmt, payload, metadata)

    def load(self, saved: SavedModel, *, trust: bool = False) -> OnnxModel:
        """Open an ``InferenceSession`` on the CPU and find the score output."""
        fmt = check_serialization(self.name, saved.format, self.serializations)
        ort = _import_onnxruntime("Loading an ONNX model")
        onnx = _import_onnx("Loading an ONNX model")
        model = _parse(saved.payload, onnx)
        zipmap_input, labels = _expose_zipmap_input(model, onnx)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_num_threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            model.SerializeToString() if zipmap_input else saved.payload,
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        metadata = dict(saved.metadata)
        if labels is not None:
            metadata["classes"] = labels
        if zipmap_input is not None:
            return OnnxModel(session, format=fmt, metadata=metadata, output_name=zipmap_input, output_kind="tensor")
        name, kind = _score_output(session)
        return OnnxModel(session, format=fmt, metadata=metadata, output_name=name, output_kind=kind)


def _score_output(session: Any) -> tuple[str, str]:
    """The output holding the scores: a float tensor (preferring one named like 'prob...'), else a ZipMap."""
    outputs = session.get_outputs()
    tensors = [o.name for o in outputs if o.type in ("tensor(float)", "tensor(double)")]
    if tensors:
        probable = [n for n in tensors if "prob" in n.lower()]
        return (probable or tensors)[0], "tensor"
    maps = [o.name for o in outputs if o.type.startswith("seq(map(")]
    if maps:
        return maps[0], "zipmap"
    raise UsageError(
        f"The ONNX model has no float output to score with. Got outputs {[(o.name, o.type) for o in outputs]}."
    )
