"""A request's rows as a DataFrame: what ``pd.DataFrame(columns)`` builds, in a third of the time.

``pd.DataFrame({field: [values]})`` infers every column's type from its Python values, and on
pandas 3 turns each text column into an Arrow string array through its general sequence path:
about 370 us for a one-row churn request (11 text and 9 number fields), more than the model takes
to score it. Nearly every JSON column holds values of a single Python type, whose pandas type is
known in advance:

- only ``int`` -> int64 (when every value fits), only ``float`` -> float64;
- only ``str`` -> the array pandas infers for text (its Arrow string array on pandas 3, an object
  array before), built straight from a pyarrow array.

Any other column (nulls, booleans, a mix of types, nested values, huge integers) goes through
``pd.Series``, that is through pandas' own inference, so the frame is the one ``pd.DataFrame``
gives, dtype for dtype (``tests/serve/test_frame.py`` checks that on generated columns). The
columns are then assembled without pandas re-checking them: 110-160 us for the same request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["request_frame"]


def _text_builders(probe: Any, dtype: Any) -> list[Callable[[list[str]], Any]]:
    """Ways to build the array pandas infers for a list of str (``probe``), fastest first."""
    if isinstance(dtype, np.dtype):
        return [lambda values: np.array(values, dtype=object)] if dtype.kind == "O" else []
    if not isinstance(probe, pd.arrays.ArrowStringArray):
        return []
    arrow_type = pa.array(probe).type  # large_string on pandas 3
    cls = type(probe)
    builders = [lambda values: cls(pa.array(values, type=arrow_type), dtype=dtype)]
    like = getattr(probe, "_from_pyarrow_array", None)  # pandas 3.1: skips __init__'s checks
    if like is not None:
        builders.insert(0, lambda values: like(pa.array(values, type=arrow_type)))
    return builders


def _text_builder() -> Callable[[list[str]], Any] | None:
    """The fastest way to build, without pandas' inference, what pandas infers for a list of str,
    proven on a sample when this module is imported; None if none gives the same array. (pandas'
    string options are read then: a process that changes ``future.infer_string`` later gets frames
    whose text columns follow the old setting.)"""
    sample = ["a", "b"]
    expected = pd.Series(sample)
    for build in _text_builders(expected.array, expected.dtype):
        try:
            got = pd.Series(build(sample), copy=False)
            pd.testing.assert_series_equal(got, expected, check_dtype=True)
        except Exception:  # a pandas whose constructors differ: try the next, or let pandas infer
            continue
        if type(got.array) is type(expected.array):
            return build
    return None


_TEXT = _text_builder()
_FROM_ARRAYS = getattr(pd.DataFrame, "_from_arrays", None)
_LABELS: dict[tuple[str, ...], pd.Index] = {}
"""Column labels by field names: building a pandas 3 string Index costs as much as three columns,
and a use case's requests send the same fields in the same order. Only names that are all str are
kept (``(1,)`` equals ``(True,)``), and each frame gets its own view, so that feature code which
renames its columns' Index changes no other frame's."""
_MAX_LABELS = 256


def _labels(names: tuple[str, ...]) -> pd.Index | None:
    """The column labels ``pd.DataFrame`` gives these field names; None unless they are all str."""
    labels = _LABELS.get(names)
    if labels is None:
        if not all(type(name) is str for name in names):
            return None  # pandas has its own rules for other labels (a RangeIndex for 0, 1, ...)
        if len(_LABELS) >= _MAX_LABELS:
            _LABELS.clear()
        labels = _LABELS[names] = pd.Index(names)
    return labels.view()


def _inferred(values: list[Any]) -> Any:
    """pandas' own inference for one column: a numpy array, or its extension array."""
    s = pd.Series(values)
    return s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array


def _column(values: list[Any]) -> Any:
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str and _TEXT is not None:
            return _TEXT(values)
        if kind is float:
            return np.array(values, dtype=np.float64)
        if kind is int:
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError:  # past int64: pandas picks uint64 or object
                pass
    return _inferred(values)


def request_frame(columns: dict[str, list[Any]], n: int) -> pd.DataFrame:
    """The DataFrame ``pd.DataFrame(columns)`` would give for ``n`` rows of request values."""
    usable = n > 0 and columns and _FROM_ARRAYS is not None and all(len(v) == n for v in columns.values())
    labels = _labels(tuple(columns)) if usable else None
    if labels is None:
        return pd.DataFrame(columns)  # pandas' own answer, or its own error
    arrays = [_column(values) for values in columns.values()]
    frame: pd.DataFrame = _FROM_ARRAYS(arrays, columns=labels, index=pd.RangeIndex(n), verify_integrity=False)
    return frame
