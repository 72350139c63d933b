"""LightGBM models trained on pandas categoricals score production rows, whose categories are text.

The usual workflow: string columns become ``category`` before ``fit``; the server, the handoff check
and the evaluation pass those columns as text. Every path that registers a LightGBM model must give
LightGBM the codes it saw at fit time, so every comparison here is exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard import Yard
from modelyard._exceptions import UsageError
from modelyard.flavors import LightGBMModel, load_model, save_model
from modelyard.flavors._lightgbm import _LOOKUP_ROWS, PandasCategories

CATEGORICAL = ["city", "plan", "channel"]


@pytest.fixture(scope="module")
def orders() -> tuple[pd.DataFrame, np.ndarray]:
    """3,000 seeded orders as production sends them: three text columns among numbers."""
    rng = np.random.default_rng(7)
    n = 3000
    raw = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 60.0, n).round(2),
            "tenure": rng.integers(0, 72, n),
            "city": rng.choice(["paris", "lyon", "nice", "lille", "nantes"], n, p=[0.4, 0.2, 0.15, 0.15, 0.1]),
            "visits": rng.poisson(3, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "channel": rng.choice(["web", "store", "phone", "partner"], n),
            "member": rng.random(n) < 0.3,
        }
    )
    logit = (
        (raw["amount"] - 120) / 60
        + (raw["city"] == "nice") * 1.5
        - (raw["plan"] == "basic") * 1.0
        + (raw["channel"] == "phone") * 0.8
    )
    y = (logit + rng.normal(0, 1, n) > 0).astype(int).to_numpy()
    return raw, y


def as_training(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns made pandas categoricals, as the researcher did before fit."""
    return frame.astype({c: "category" for c in CATEGORICAL})


@pytest.fixture(scope="module")
def classifier(orders: tuple[pd.DataFrame, np.ndarray]) -> lgb.LGBMClassifier:
    raw, y = orders
    return lgb.LGBMClassifier(n_estimators=60, num_leaves=15, min_child_samples=10, verbose=-1).fit(as_training(raw), y)


def expected(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """What LightGBM itself scores for ``rows`` given as the training categoricals."""
    return model.predict_proba(as_training(rows))[:, 1]


def _register_object(yard: Yard, model: Any, tmp_path: Path) -> Any:
    return yard.register("churn", model)


def _register_text_file(yard: Yard, model: Any, tmp_path: Path) -> Any:
    model.booster_.save_model(tmp_path / "model.txt")
    return yard.register("churn", str(tmp_path / "model.txt"))


def _register_skops_file(yard: Yard, model: Any, tmp_path: Path) -> Any:
    sio.dump(model, tmp_path / "model.skops")
    return yard.register("churn", str(tmp_path / "model.skops"))


def _register_pickle_file(yard: Yard, model: Any, tmp_path: Path) -> Any:
    joblib.dump(model, tmp_path / "model.joblib")
    return yard.register("churn", str(tmp_path / "model.joblib"), trust=True)


@pytest.mark.parametrize(
    ("register", "flavor"),
    [
        (_register_object, "lightgbm"),
        (_register_text_file, "lightgbm"),
        (_register_skops_file, "sklearn"),
        (_register_pickle_file, "lightgbm"),
    ],
    ids=["LGBMClassifier", "model.txt", "model.skops", "model.joblib"],
)
@pytest.mark.parametrize("text", ["str", "object"])
def test_registered_model_scores_text_rows_exactly(
    yard: Yard, classifier, orders, tmp_path: Path, register, flavor: str, text: str
) -> None:
    raw, _ = orders
    mv = register(yard, classifier, tmp_path)
    assert mv.flavor == flavor
    loaded = yard.load("churn", mv.version)
    rows = raw.iloc[:400].astype({c: text for c in CATEGORICAL})
    np.testing.assert_array_equal(loaded.score(rows), expected(classifier, rows))
    one = rows.iloc[[17]]
    np.testing.assert_array_equal(loaded.score(one), expected(classifier, one))
    assert rows["city"].dtype == text  # the caller's frame is left as it was


def test_unseen_and_missing_categories_score_as_lightgbm_scores_them(classifier, orders) -> None:
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    rows = raw.iloc[:3].copy()
    rows["city"] = ["marseille", None, "nice"]  # never seen, missing, seen
    rows["plan"] = ["basic", "gold", "pro"]
    # LightGBM's own answer for values outside the training categories: no code, i.e. missing.
    widened = rows.astype(
        {"city": pd.CategoricalDtype(["nice", "marseille"]), "plan": "category", "channel": "category"}
    )
    lightgbm_says = classifier.predict_proba(widened)[:, 1]
    scores = loaded.score(rows)
    np.testing.assert_array_equal(scores, lightgbm_says)
    missing = rows.iloc[:1].copy()
    missing["city"] = None  # a missing value scores as the unseen one
    np.testing.assert_array_equal(scores[:1], loaded.score(missing))


def test_large_batches_give_the_same_codes_as_single_rows(classifier, orders) -> None:
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    rows = raw.copy()
    rows.loc[::97, "channel"] = "fax"  # unseen, here and there
    assert len(rows) > _LOOKUP_ROWS
    batch = loaded.score(rows)
    singles = np.concatenate([loaded.score(rows.iloc[i : i + 50]) for i in range(0, len(rows), 50)])
    np.testing.assert_array_equal(batch, singles)
    np.testing.assert_array_equal(batch, expected(classifier, rows))


def test_training_categoricals_take_the_fast_path(classifier, orders) -> None:
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    assert isinstance(loaded, LightGBMModel)
    categories = loaded.categories
    assert categories is not None and categories.positions == (2, 4, 5)
    rows = as_training(raw.iloc[:5])
    assert categories.apply(rows) is rows  # no copy, no conversion
    # Categoricals with the categories in another order are LightGBM's to map, as before.
    shuffled = rows.assign(city=pd.Categorical(rows["city"], ["paris", "nice", "nantes", "lyon", "lille"]))
    assert categories.apply(shuffled) is shuffled
    np.testing.assert_array_equal(loaded.score(shuffled), classifier.predict_proba(rows)[:, 1])


def test_model_without_categoricals_has_none(orders) -> None:
    raw, y = orders
    numeric = raw.drop(columns=CATEGORICAL)
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(numeric, y)
    loaded = load_model(save_model(model))
    assert loaded.categories is None
    np.testing.assert_array_equal(loaded.score(numeric.iloc[:5]), model.predict_proba(numeric.iloc[:5])[:, 1])


def test_ordered_category_column_is_found_in_the_input(orders) -> None:
    """An ordered categorical is no categorical feature of LightGBM: the text columns of the input are used."""
    raw, y = orders
    train = as_training(raw).astype({"plan": pd.CategoricalDtype(["basic", "plus", "pro"], ordered=True)})
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(train, y)
    loaded = load_model(save_model(model))
    assert loaded.categories is not None and loaded.categories.positions is None
    np.testing.assert_array_equal(loaded.score(raw.iloc[:200]), model.predict_proba(train.iloc[:200])[:, 1])


def test_explicit_categorical_feature_naming_a_number_column(orders) -> None:
    raw, y = orders
    train = raw.astype({"city": "category"}).drop(columns=["plan", "channel"])
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(train, y, categorical_feature=["city", "visits"])
    loaded = load_model(save_model(model))
    assert loaded.categories is not None and loaded.categories.positions is None
    rows = raw.drop(columns=["plan", "channel"]).iloc[:200]
    np.testing.assert_array_equal(loaded.score(rows), model.predict_proba(train.iloc[:200])[:, 1])


def test_a_number_column_passed_as_category_is_explained(classifier, orders) -> None:
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    rows = as_training(raw.iloc[:5]).astype({"visits": "category"})
    with pytest.raises(
        UsageError,
        match=r"trained on 3 pandas category column\(s\) \['city', 'plan', 'channel'\]\. "
        r"Got category columns \['city', 'visits', 'plan', 'channel'\] instead\. Pass those columns as strings",
    ):
        loaded.score(rows)


def test_the_signature_names_the_category_columns_without_training_data(classifier) -> None:
    """A model.txt registered alone: its category columns are categories, not floats."""
    from modelyard.flavors import infer_signature

    booster = lgb.Booster(model_str=classifier.booster_.model_to_string())
    dtypes = {c.name: c.dtype for c in infer_signature(booster).inputs}
    assert dtypes == {c: "category" if c in CATEGORICAL else "float" for c in booster.feature_name()}


def test_positions_come_from_the_model_text(classifier) -> None:
    categories = PandasCategories.of(classifier.booster_)
    assert categories is not None
    assert categories.positions == (2, 4, 5)
    assert [list(d.categories) for d in categories.dtypes] == classifier.booster_.pandas_categorical


def test_by_column_names_the_training_categories_of_each_column(classifier, orders) -> None:
    raw, y = orders
    categories = PandasCategories.of(classifier.booster_)
    assert categories is not None
    by_column = categories.by_column(raw[classifier.booster_.feature_name()])
    assert {c: list(v) for c, v in by_column.items()} == {
        "city": ["lille", "lyon", "nantes", "nice", "paris"],
        "plan": ["basic", "plus", "pro"],
        "channel": ["partner", "phone", "store", "web"],
    }
    # without positions in the model text, the input's text columns are the category columns
    ordered = as_training(raw).astype({"plan": pd.CategoricalDtype(["basic", "plus", "pro"], ordered=True)})
    model = lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(ordered, y)
    found = PandasCategories.of(model.booster_)
    assert found is not None and found.positions is None
    assert list(found.by_column(raw)) == CATEGORICAL
    assert found.by_column(raw.drop(columns=["plan"])) == {}


# -- the array given to LightGBM instead of the frame ---------------------------------------


def test_text_and_training_categoricals_become_the_array_lightgbm_builds(classifier, orders) -> None:
    """The array skips LightGBM's pandas path (ms per row); it must hold exactly what that path builds."""
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    assert isinstance(loaded, LightGBMModel) and loaded.categories is not None
    rows = raw.iloc[:300].copy()
    rows.loc[rows.index[::7], "city"] = "marseille"  # unseen: NaN, as LightGBM codes it
    rows.loc[rows.index[::11], "amount"] = np.nan
    training = classifier.booster_.pandas_categorical
    # text, training categoricals beside text, one row
    for frame in (rows, as_training(raw.iloc[:300]).assign(city=rows["city"]), rows.iloc[[3]]):
        matrix = loaded.categories.matrix(frame)
        assert matrix is not None and matrix.shape == (len(frame), 7)
        # LightGBM's own path for categoricals of any categories: recode onto the training ones
        reference, *_ = lgb.basic._data_from_pandas(
            frame.astype(dict.fromkeys(CATEGORICAL, "category")), "auto", "auto", training
        )
        assert matrix.dtype == reference.dtype
        np.testing.assert_array_equal(matrix, reference)
        if len(frame) > 1:
            assert np.isnan(matrix[::7, 2]).all()  # marseille, never seen


def test_frames_lightgbm_must_convert_itself_are_left_to_it(classifier, orders) -> None:
    raw, _ = orders
    loaded = load_model(save_model(classifier))
    assert isinstance(loaded, LightGBMModel) and loaded.categories is not None
    rows = raw.iloc[:50]
    shuffled = as_training(rows).assign(city=pd.Categorical(rows["city"], ["paris", "nice", "nantes", "lyon", "lille"]))
    nullable = rows.astype({"visits": "Int64"})
    for frame in (shuffled, nullable):
        assert loaded.categories.matrix(frame) is None
        np.testing.assert_array_equal(loaded.score(frame), expected(classifier, rows))


@pytest.mark.parametrize(
    "dtypes",
    [{}, {"amount": "float32", "tenure": "int8", "visits": "float32"}, {"tenure": "uint64"}],
    ids=["float64-int64-bool", "float32-int8", "uint64"],
)
def test_number_columns_become_the_array_lightgbm_builds(orders, dtypes: dict[str, str]) -> None:
    from modelyard.flavors._lightgbm import as_matrix

    raw, y = orders
    numeric = raw.drop(columns=CATEGORICAL).astype(dtypes)
    numeric.loc[numeric.index[::13], "amount"] = np.nan
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(numeric, y)
    loaded = load_model(save_model(model))
    matrix = as_matrix(numeric)
    reference, *_ = lgb.basic._data_from_pandas(numeric, "auto", "auto", None)
    assert matrix is not None and matrix.dtype == reference.dtype
    np.testing.assert_array_equal(matrix, reference)
    np.testing.assert_array_equal(loaded.score(numeric), model.predict_proba(numeric)[:, 1])
    wrapped = load_model(save_model(model, flavor="sklearn"))  # the wrapper kept whole, as skops keeps it
    assert wrapped.flavor == "sklearn"
    np.testing.assert_array_equal(wrapped.score(numeric), model.predict_proba(numeric)[:, 1])
    assert as_matrix(numeric.astype({"visits": "Int64"})) is None  # nullable: LightGBM's own path
    assert as_matrix(numeric.set_axis(["a", "a", "b", "c"], axis=1)) is None  # repeated names


# -- regressors are no binary classifiers --------------------------------------------------


def test_registering_a_regressor_for_binary_classification_is_refused(yard: Yard, orders) -> None:
    raw, y = orders
    numeric = raw.drop(columns=CATEGORICAL)
    with pytest.raises(
        UsageError,
        match=r"^This sklearn\.linear_model\._base\.LinearRegression is a regressor, and a binary classifier "
        r"must score a probability\. Use a classifier with predict_proba "
        r"\(e\.g\. sklearn\.linear_model\.LogisticRegression\), or, if the regressor's output really is a "
        r"probability, wrap it in a plain Python function model f\(frame\) -> scores \(flavor 'python_function'\)\.$",
    ):
        yard.register("churn", LinearRegression().fit(numeric, y))
    assert yard.registry.versions("churn") == []


def test_a_pipeline_ending_in_a_regressor_is_refused(orders) -> None:
    raw, y = orders
    numeric = raw.drop(columns=CATEGORICAL)
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(numeric, y)
    with pytest.raises(
        UsageError,
        match=r"^This sklearn\.pipeline\.Pipeline ending in the regressor "
        r"sklearn\.linear_model\._base\.LinearRegression is a regressor",
    ):
        save_model(model)
    regressor = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(numeric, y)
    with pytest.raises(UsageError, match=r"LGBMRegressor is a regressor.*\(e\.g\. lightgbm\.LGBMClassifier\)"):
        save_model(regressor)
    # its booster, or the booster read back from model.txt, does not say "regressor": its objective does
    for booster in (regressor.booster_, lgb.Booster(model_str=regressor.booster_.model_to_string())):
        with pytest.raises(
            UsageError,
            match=r"^This lightgbm model was trained for regression \(objective 'regression'\), and a binary "
            r"classifier must score a probability\. Retrain it for binary classification",
        ):
            save_model(booster)
    assert save_model(regressor.booster_, task="regression").metadata["task"] == "regression"
    assert save_model(model, task="regression").metadata["task"] == "regression"
    assert (
        save_model(make_pipeline(StandardScaler(), LogisticRegression()).fit(numeric, y)).metadata["task"] == "binary"
    )


def test_task_must_be_known(orders) -> None:
    with pytest.raises(
        UsageError, match=r"^The 'task' parameter must be one of binary, regression\. Got 'multiclass' instead\.$"
    ):
        save_model(LogisticRegression(), task="multiclass")
