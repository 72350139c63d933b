"""The python_function flavor: import paths, by-value pickles only with trust, output coercion."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from modelyard._exceptions import UntrustedArtifactError, UsageError
from modelyard.flavors import (
    ColumnSpec,
    PythonFunctionModel,
    SavedModel,
    flavor_for,
    infer_signature,
    load_model,
    save_model,
)


def amount_score(df: pd.DataFrame) -> pd.Series:
    """A scoring function importable by name (this test module)."""
    return 1.0 / (1.0 + np.exp(-(df["amount"] - 100.0) / 30.0))


def two_columns(df: pd.DataFrame) -> np.ndarray:
    p = amount_score(df).to_numpy()
    return np.column_stack([1 - p, p])


def wrong_length(df: pd.DataFrame) -> list[float]:
    return [0.5]


def text(df: pd.DataFrame) -> list[str]:
    return ["high"] * len(df)


def test_detects_functions():
    assert flavor_for(amount_score).name == "python_function"
    assert flavor_for(lambda df: df).name == "python_function"


def test_import_path_round_trip(mixed_frame):
    X, _ = mixed_frame
    saved = save_model(amount_score)
    assert (saved.flavor, saved.format) == ("python_function", "import-path")
    assert saved.payload == f'{{"module": "{__name__}", "qualname": "amount_score"}}'.encode()
    assert len(saved.metadata["source_sha256"]) == 64
    loaded = load_model(saved)
    assert isinstance(loaded, PythonFunctionModel)
    assert loaded.raw is amount_score and loaded.source_changed is False
    scores = loaded.score(X)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, amount_score(X).to_numpy())


def test_two_column_output_takes_column_1(mixed_frame):
    X, _ = mixed_frame
    np.testing.assert_array_equal(load_model(save_model(two_columns)).score(X), amount_score(X).to_numpy())


def test_bad_outputs_are_named(mixed_frame):
    X, _ = mixed_frame
    with pytest.raises(UsageError, match=r"'python_function' model must return one score per row: shape \(400,\)"):
        load_model(save_model(wrong_length)).score(X)
    with pytest.raises(UsageError, match=r"'python_function' model must return numeric scores.*from list"):
        load_model(save_model(text)).score(X)


def test_lambdas_and_closures_need_trust(mixed_frame):
    X, _ = mixed_frame
    offset = 0.25

    def closure(df):
        return np.full(len(df), offset)

    for func, why in (
        (lambda df: np.zeros(len(df)), "it is a lambda"),
        (closure, "it is defined inside another"),
    ):
        with pytest.raises(UsageError, match=f"cannot be saved by import path: {why}.*Move it into a module"):
            save_model(func)
    saved = save_model(closure, trust=True)
    assert saved.format == "cloudpickle"
    with pytest.raises(UntrustedArtifactError, match="Loading a pickle runs code from the file"):
        load_model(saved)
    np.testing.assert_array_equal(load_model(saved, trust=True).score(X), np.full(len(X), 0.25))
    with pytest.raises(UntrustedArtifactError, match="pass trust=True"):
        save_model(closure, serialization="cloudpickle")


def test_missing_cloudpickle(monkeypatch):
    monkeypatch.setitem(sys.modules, "cloudpickle", None)
    with pytest.raises(UsageError, match="pip install cloudpickle"):
        save_model(lambda df: df, trust=True)


def test_unimportable_reference():
    saved = SavedModel("python_function", "import-path", b'{"module": "no_such_module_xyz", "qualname": "f"}', {})
    with pytest.raises(UsageError, match=r"no_such_module_xyz\.f cannot be imported"):
        load_model(saved)


def test_signature_from_sample(mixed_frame):
    X, _ = mixed_frame
    sig = infer_signature(amount_score, X)
    assert sig.inputs[0] == ColumnSpec("amount", "float") and sig.inputs[3] == ColumnSpec("city", "category")
    with pytest.raises(UsageError, match="pass a sample DataFrame"):
        infer_signature(amount_score)
