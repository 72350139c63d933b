"""The LightGBM flavor: text-model round trips, pandas categories, feature names."""

from __future__ import annotations

import sys

import lightgbm as lgb
import numpy as np
import pytest

from modelyard._exceptions import MissingExtraError, UsageError
from modelyard.flavors import ColumnSpec, LightGBMModel, flavor_for, infer_signature, load_model, save_model


@pytest.fixture(scope="module")
def classifier(mixed_frame):
    X, y = mixed_frame
    return lgb.LGBMClassifier(n_estimators=20, num_leaves=7, min_child_samples=5, verbose=-1).fit(X, y)


def test_detects_lightgbm_before_sklearn(classifier):
    assert flavor_for(classifier).name == "lightgbm"
    assert flavor_for(classifier.booster_).name == "lightgbm"


def test_round_trip_with_category_column_is_exact(classifier, mixed_frame):
    X, _ = mixed_frame
    saved = save_model(classifier)
    assert (saved.flavor, saved.format) == ("lightgbm", "lightgbm-text")
    assert saved.metadata["feature_names"] == ["amount", "visits", "member", "city"]
    assert saved.metadata["pandas_categorical"] == [["lille", "lyon", "nice", "paris"]]
    assert saved.metadata["objective"].startswith("binary")
    assert saved.metadata["positive_class"] == 1
    loaded = load_model(saved)
    assert isinstance(loaded, LightGBMModel)
    assert loaded.input_names == ("amount", "visits", "member", "city")
    scores = loaded.score(X)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, classifier.predict_proba(X)[:, 1])
    # Same scores with the columns shuffled and the categories listed in another order.
    shuffled = X[["city", "member", "visits", "amount"]].copy()
    shuffled["city"] = shuffled["city"].cat.reorder_categories(["paris", "nice", "lyon", "lille"])
    np.testing.assert_array_equal(loaded.score(shuffled), scores)


def test_booster_round_trip(classifier, mixed_frame):
    X, _ = mixed_frame
    loaded = load_model(save_model(classifier.booster_))
    np.testing.assert_array_equal(loaded.score(X), classifier.booster_.predict(X))


def test_unnamed_features_score_by_position(frame):
    X, y = frame
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(X.to_numpy(), y), 10)
    loaded = load_model(save_model(booster))
    assert loaded.input_names is None
    np.testing.assert_array_equal(loaded.score(X), booster.predict(X.to_numpy()))
    with pytest.raises(UsageError, match=r"reads 6 unnamed columns\. Got 5 columns instead\."):
        loaded.score(X.iloc[:, :5])


def test_missing_column_is_named(classifier, mixed_frame):
    X, _ = mixed_frame
    with pytest.raises(UsageError, match=r"missing 1 column\(s\) the model reads: \['city'\]"):
        load_model(save_model(classifier)).score(X.drop(columns="city"))


def test_regression_objective(frame):
    X, y = frame
    model = lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(X, y.astype(float))
    saved = save_model(model, task="regression")
    assert saved.metadata["task"] == "regression"
    np.testing.assert_array_equal(load_model(saved).score(X), model.predict(X))


def test_unfitted_is_refused():
    with pytest.raises(UsageError, match="LGBMClassifier is not fitted"):
        save_model(lgb.LGBMClassifier())


def test_signature(classifier, mixed_frame):
    X, _ = mixed_frame
    expected = (
        ColumnSpec("amount", "float"),
        ColumnSpec("visits", "int"),
        ColumnSpec("member", "bool"),
        ColumnSpec("city", "category"),
    )
    assert infer_signature(classifier, X).inputs == expected
    sig = infer_signature(load_model(save_model(classifier)), X)
    assert sig.inputs == expected
    assert sig.outputs == (ColumnSpec("score", "float"), ColumnSpec("label", "bool"))


def test_missing_lightgbm(classifier, monkeypatch):
    saved = save_model(classifier)
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'modelyard\[lightgbm\]'"):
        load_model(saved)
