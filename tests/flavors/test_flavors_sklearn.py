"""The scikit-learn flavor: skops round trips, trusted types, pickle only with trust."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from modelyard._exceptions import UntrustedArtifactError, UsageError
from modelyard.flavors import (
    ColumnSpec,
    SklearnModel,
    flavor_for,
    infer_signature,
    load_model,
    save_model,
)
from modelyard.flavors._sklearn import _is_safe_type


class Shift(BaseEstimator, TransformerMixin):
    """A custom transformer skops does not trust by default."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X + 1.0


class Streaming(LogisticRegression):
    """A classifier holding a generator, which skops (and pickle) cannot save."""

    def fit(self, X, y):
        super().fit(X, y)
        self.stream_ = (i for i in range(3))
        return self


@pytest.fixture(scope="module")
def pipeline(frame):
    X, y = frame
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


def test_detects_sklearn(pipeline):
    assert flavor_for(pipeline).name == "sklearn"
    assert flavor_for(LogisticRegression()).name == "sklearn"


def test_skops_round_trip_is_exact(pipeline, frame):
    X, _ = frame
    saved = save_model(pipeline)
    assert (saved.flavor, saved.format) == ("sklearn", "skops")
    assert saved.metadata["positive_class"] == 1
    assert saved.metadata["input_names"] == list(X.columns)
    assert "sklearn_version" in saved.metadata and "skops_version" in saved.metadata
    loaded = load_model(saved)
    assert isinstance(loaded, SklearnModel)
    scores = loaded.score(X)
    assert scores.dtype == np.float64 and scores.shape == (len(X),)
    np.testing.assert_array_equal(scores, pipeline.predict_proba(X)[:, 1])


def test_columns_are_reordered_and_missing_ones_named(pipeline, frame):
    X, _ = frame
    loaded = load_model(save_model(pipeline))
    np.testing.assert_array_equal(loaded.score(X[X.columns[::-1]]), loaded.score(X))
    with pytest.raises(UsageError, match=r"missing 1 column\(s\) the model reads: \['f3'\]"):
        loaded.score(X.drop(columns="f3"))


def test_string_labels_positive_class_is_classes_1(frame):
    X, y = frame
    labels = np.where(y == 1, "churn", "stay")  # classes_ sorted: ['churn', 'stay']
    model = LogisticRegression().fit(X, labels)
    saved = save_model(model)
    assert saved.metadata["classes"] == ["churn", "stay"]
    assert saved.metadata["positive_class"] == "stay"
    np.testing.assert_array_equal(load_model(saved).score(X), model.predict_proba(X)[:, 1])


def test_model_fitted_on_array_scores_a_frame_without_warning(frame):
    X, y = frame
    model = LogisticRegression().fit(X.to_numpy(), y)
    loaded = load_model(save_model(model))
    assert loaded.input_names is None
    np.testing.assert_array_equal(loaded.score(X), model.predict_proba(X.to_numpy())[:, 1])


def test_regressor_scores_predict(frame):
    X, y = frame
    model = HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(X, y.astype(float))
    saved = save_model(model, task="regression")
    assert saved.metadata["task"] == "regression"
    np.testing.assert_array_equal(load_model(saved).score(X), model.predict(X))
    assert [c.name for c in infer_signature(model, X).outputs] == ["score"]


def test_numpy_functions_are_trusted_automatically(frame):
    X, y = frame
    model = make_pipeline(FunctionTransformer(np.abs), LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(load_model(save_model(model)).score(X), model.predict_proba(X)[:, 1])


def test_custom_type_needs_trust(frame):
    X, y = frame
    model = make_pipeline(Shift(), LogisticRegression()).fit(X, y)
    saved = save_model(model)
    assert saved.metadata["skops_untrusted_types"] == [f"{__name__}.Shift"]
    with pytest.raises(UntrustedArtifactError, match=rf"not trusted automatically: \['{__name__}.Shift'\].*trust=True"):
        load_model(saved)
    np.testing.assert_array_equal(load_model(saved, trust=True).score(X), model.predict_proba(X)[:, 1])


def test_builtin_functions_are_never_trusted_automatically(frame):
    X, y = frame
    model = make_pipeline(FunctionTransformer(abs), LogisticRegression()).fit(X, y)
    with pytest.raises(UntrustedArtifactError, match=r"\['builtins.abs'\]"):
        load_model(save_model(model))


def test_pickle_needs_trust_at_save_and_load(pipeline, frame):
    X, _ = frame
    for fmt in ("pickle", "joblib"):
        with pytest.raises(UntrustedArtifactError, match=f"Saving with {fmt} writes a file that runs code"):
            save_model(pipeline, serialization=fmt)
        saved = save_model(pipeline, serialization=fmt, trust=True)
        assert saved.format == fmt
        with pytest.raises(
            UntrustedArtifactError,
            match=r"^Loading a pickle runs code from the file; pass trust=True \(--trust\) only for models "
            r"from people you trust, or save with skops \(the default\)\.$",
        ):
            load_model(saved)
        np.testing.assert_array_equal(load_model(saved, trust=True).score(X), pipeline.predict_proba(X)[:, 1])


def test_skops_failure_names_pickle_alternative(frame):
    X, y = frame
    with pytest.raises(UsageError, match=r"skops cannot save .*Streaming.*serialization='pickle' and trust=True"):
        save_model(Streaming().fit(X, y))


def test_unknown_serialization(pipeline):
    with pytest.raises(UsageError, match=r"must be one of skops, pickle, joblib\. Got 'json' instead\."):
        save_model(pipeline, serialization="json")


def test_unfitted_and_probability_less_models_are_refused(frame):
    X, y = frame
    with pytest.raises(UsageError, match="is not fitted; fit it before saving it"):
        save_model(LogisticRegression())
    with pytest.raises(UsageError, match=r"has no predict_proba.*CalibratedClassifierCV"):
        save_model(LinearSVC().fit(X, y))


def test_multiclass_is_refused(frame):
    X, _ = frame
    y = np.arange(len(X)) % 3
    with pytest.raises(UsageError, match="Only binary classifiers are supported for now"):
        save_model(LogisticRegression().fit(X, y))


def test_signature(pipeline, mixed_frame):
    X, _ = mixed_frame
    sig = infer_signature(pipeline)
    assert sig.inputs == tuple(ColumnSpec(f"f{i}", "float") for i in range(6))
    assert sig.outputs == (ColumnSpec("score", "float"), ColumnSpec("label", "bool"))
    loaded_sig = infer_signature(load_model(save_model(pipeline)))
    assert loaded_sig == sig

    model = LogisticRegression().fit(X[["amount", "visits", "member"]], np.arange(len(X)) % 2)
    sig = infer_signature(model, X)
    assert [(c.name, c.dtype) for c in sig.inputs] == [
        ("amount", "float"),
        ("visits", "int"),
        ("member", "bool"),
    ]


def test_score_rejects_non_frames_and_handles_empty(pipeline, frame):
    X, _ = frame
    loaded = load_model(save_model(pipeline))
    with pytest.raises(UsageError, match=r"takes a pandas DataFrame\. Got ndarray instead"):
        loaded.score(X.to_numpy())
    assert loaded.score(X.iloc[:0]).shape == (0,)
    assert isinstance(loaded.score(pd.DataFrame(X.iloc[:1])), np.ndarray)


def test_pipeline_with_lightgbm_inside_loads_without_trust(frame):
    lgb = pytest.importorskip("lightgbm")
    X, y = frame
    model = make_pipeline(StandardScaler(), lgb.LGBMClassifier(n_estimators=10, verbose=-1)).fit(X, y)
    saved = save_model(model)
    assert flavor_for(model).name == "sklearn"
    assert "lightgbm.basic.Booster" in saved.metadata["skops_untrusted_types"]
    np.testing.assert_array_equal(load_model(saved).score(X), model.predict_proba(X)[:, 1])


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("sklearn.linear_model._logistic.LogisticRegression", True),
        ("collections.OrderedDict", True),
        ("lightgbm.basic.Booster", True),
        ("numpy.float32", True),
        ("numpy.exp", True),  # a ufunc
        ("numpy.memmap", False),  # opens files
        ("numpy.load", False),  # a function that can unpickle
        ("builtins.eval", False),
        ("builtins.type", False),
        ("scipy.sparse.csr_matrix", True),
        ("os.system", False),
        ("sklearn.no_such_thing", False),
    ],
)
def test_automatic_trust_is_narrow(name, safe):
    assert _is_safe_type(name) is safe


def test_skops_bytes_are_the_same_in_every_process() -> None:
    """Content addressing needs equal models to give equal bytes: skops's ids and timestamps are fixed."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import hashlib
        from sklearn.datasets import load_breast_cancer
        from sklearn.ensemble import HistGradientBoostingClassifier
        from modelyard.flavors import save_model
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        X["bucket"] = (X["mean radius"] > 14).astype(int)
        m = HistGradientBoostingClassifier(max_iter=5, categorical_features=["bucket"], random_state=0).fit(X, y)
        print(hashlib.sha256(save_model(m).payload).hexdigest())
        """
    )
    digests = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(digests) == 1
