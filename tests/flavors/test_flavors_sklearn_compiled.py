"""The compiled scorer of HistGradientBoosting pipelines: scikit-learn's scores bit for bit, or none at all.

Every comparison is exact (``np.array_equal``): the compiled scorer promises the very floats
scikit-learn returns, so a one-ulp difference is a failure, not a tolerance question.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_array

from modelyard.demo import build_challenger
from modelyard.demo._data import load_raw_churn
from modelyard.demo.features import CATEGORICAL, churn_features
from modelyard.flavors import SklearnFlavor, SklearnModel
from modelyard.flavors._sklearn_compiled import MAX_ROWS, CompiledSklearn, _Trees, compile_sklearn

Churn = tuple[pd.DataFrame, np.ndarray]


def sklearn_scores(model: Any, X: pd.DataFrame) -> np.ndarray:
    """What scikit-learn itself says: the positive class's probability, or the regression value."""
    return model.predict_proba(X)[:, 1] if is_classifier(model) else model.predict(X)


def as_loaded(model: Any) -> SklearnModel:
    """``model`` as the sklearn flavor serves it, without a save and load in between."""
    task = "binary" if is_classifier(model) else "regression"
    return SklearnModel(model, format="skops", input_names=list(model.feature_names_in_), metadata={"task": task})


def compiled_scores(compiled: CompiledSklearn, X: pd.DataFrame, size: int) -> np.ndarray:
    """The compiled scores of ``X`` in batches of ``size`` rows; every batch must be scored, none deferred."""
    parts = []
    for start in range(0, len(X), size):
        scores = compiled.predict(X.iloc[start : start + size])
        assert scores is not None, f"rows {start}..{start + size} were deferred to scikit-learn"
        parts.append(scores)
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def churn() -> Churn:
    """Model inputs and labels of all 7,043 telco customers; the newest 11 have no ``total_charges``."""
    raw = load_raw_churn()
    return churn_features(raw), raw["churned"].to_numpy()


@pytest.fixture(scope="module")
def challenger(churn: Churn) -> Any:
    """The demo's challenger pipeline, with fewer trees to keep the file fast."""
    X, y = churn
    return build_challenger().set_params(model__max_iter=40).fit(X, y)


@pytest.fixture(scope="module")
def compiled(challenger: Any) -> CompiledSklearn:
    result = compile_sklearn(challenger)
    assert result is not None, "compile_sklearn refused the demo challenger"
    return result


@pytest.fixture(scope="module")
def expected(challenger: Any, churn: Churn) -> np.ndarray:
    """scikit-learn's scores of the whole table, in one call."""
    X, _ = churn
    return sklearn_scores(challenger, X)


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    """The diabetes table with one value in ten missing."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.mask(np.random.default_rng(0).random(X.shape) < 0.1), y


@pytest.fixture(scope="module")
def regressor(diabetes: tuple[pd.DataFrame, pd.Series]) -> HistGradientBoostingRegressor:
    X, y = diabetes
    return HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, y)


def with_gaps(X: pd.DataFrame) -> pd.DataFrame:
    """Customers from all over the table, with missing numbers, missing categories and categories
    the model never saw; the last row is missing everything."""
    rows = X.iloc[::97]
    rows = rows.astype(dict.fromkeys(rows.select_dtypes("integer").columns, float))
    n = len(rows)
    at = rows.index
    rows.loc[at[::3], "tenure"] = np.nan
    rows.loc[at[1::4], "monthly_charges"] = np.nan
    rows.loc[at[2::5], "total_charges"] = np.nan
    rows.loc[at[::6], "female"] = np.nan
    rows.loc[at[::2], "contract"] = np.nan
    rows.loc[at[1::3], "payment_method"] = "Bitcoin"
    rows.loc[at[2::4], "internet_service"] = ""
    rows.loc[at[3::5], "multiple_lines"] = "yes"  # "Yes" was seen, "yes" was not
    rows.loc[at[n - 1], :] = np.nan
    return rows


# --- the demo's challenger pipeline -------------------------------------------------------------


def test_demo_challenger_compiles(challenger: Any, churn: Churn) -> None:
    X, _ = churn
    result = compile_sklearn(challenger)
    assert isinstance(result, CompiledSklearn)
    assert result.classifier
    assert result.columns == tuple(X.columns)


@pytest.mark.parametrize("size", [1, 2, 17, 100, MAX_ROWS])
def test_challenger_scores_equal_sklearn_in_batches_of(
    size: int, compiled: CompiledSklearn, churn: Churn, expected: np.ndarray
) -> None:
    X, _ = churn
    # one- and two-row batches over every eighth customer (and every one without total_charges),
    # larger batches over the whole table
    keep = np.ones(len(X), dtype=bool) if size > 2 else (np.arange(len(X)) % 8 == 0) | X.isna().any(axis=1).to_numpy()
    assert X[keep].isna().any(axis=None)
    assert np.array_equal(compiled_scores(compiled, X[keep], size), expected[keep])


def test_missing_and_unseen_values_score_as_sklearn(compiled: CompiledSklearn, challenger: Any, churn: Churn) -> None:
    X, _ = churn
    rows = with_gaps(X)
    for frame in (rows, rows.astype(dict.fromkeys(CATEGORICAL, object))):
        scores = compiled.predict(frame)
        assert scores is not None
        assert np.array_equal(scores, sklearn_scores(challenger, frame))


def test_columns_are_read_by_name(compiled: CompiledSklearn, challenger: Any, churn: Churn) -> None:
    X, _ = churn
    rows = X.iloc[:50]
    shuffled = rows[rows.columns[::-1]].assign(customer_id="C00001")
    assert np.array_equal(compiled.predict(shuffled), sklearn_scores(challenger, rows))
    assert np.array_equal(as_loaded(challenger).score(shuffled), sklearn_scores(challenger, rows))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_small_batch_scores_as_sklearn(
    data: st.DataObject, compiled: CompiledSklearn, challenger: Any, churn: Churn
) -> None:
    """Rows mixing values seen in fit, their one-ulp neighbours, midpoints between them, NaN, and
    strings and numbers never seen."""
    X, _ = churn
    n = data.draw(st.integers(1, 6), label="rows")
    columns: dict[str, Any] = {}
    for name in X.columns:
        if name in CATEGORICAL:
            pool = [*X[name].unique(), np.nan, "", "unseen"]
            columns[name] = pd.Series(data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype="str")
        else:
            seen = np.unique(X[name].dropna().to_numpy(dtype=np.float64))
            pool = np.concatenate(
                [
                    seen,
                    np.nextafter(seen, np.inf),
                    np.nextafter(seen, -np.inf),
                    (seen[:-1] + seen[1:]) * 0.5,
                    [np.nan, -1.0, 1e9, -np.inf, np.inf],
                ]
            )
            columns[name] = data.draw(st.lists(st.sampled_from(pool.tolist()), min_size=n, max_size=n))
    rows = pd.DataFrame(columns)
    scores = compiled.predict(rows)
    assert scores is not None
    assert np.array_equal(scores, sklearn_scores(challenger, rows))


# --- other HistGradientBoosting models ----------------------------------------------------------


def test_regressor_with_missing_values(regressor: HistGradientBoostingRegressor, diabetes: tuple) -> None:
    X, _ = diabetes
    result = compile_sklearn(regressor)
    assert result is not None and not result.classifier
    assert X.isna().any(axis=None)
    expected = regressor.predict(X)
    for size in (1, 100, MAX_ROWS):
        assert np.array_equal(compiled_scores(result, X, size), expected)
    assert np.array_equal(as_loaded(regressor).score(X.iloc[:30]), expected[:30])


def test_categories_from_a_pandas_category_column(mixed_frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    """HistGradientBoosting's own encoder of a category column: the compiled scorer may score or
    leave the batch to scikit-learn, but what the flavor returns is scikit-learn's score."""
    X, y = mixed_frame
    model = HistGradientBoostingClassifier(max_iter=40, categorical_features="from_dtype", random_state=0).fit(X, y)
    result = compile_sklearn(model)
    assert result is not None
    rows = X.iloc[:60].copy()
    rows.loc[rows.index[::5], "city"] = np.nan
    rows.loc[rows.index[1::7], "amount"] = np.nan
    rows["city"] = rows["city"].cat.add_categories(["brest"])
    rows.loc[rows.index[2::6], "city"] = "brest"  # a city the model never saw
    expected = sklearn_scores(model, rows)
    scores = result.predict(rows)
    assert scores is None or np.array_equal(scores, expected)
    assert np.array_equal(as_loaded(model).score(rows), expected)


def test_categories_as_integer_codes_by_mask() -> None:
    """Integer category codes marked by a boolean mask: codes never seen in fit, negative codes and
    codes past 255 go the way scikit-learn sends them."""
    rng = np.random.default_rng(0)
    n = 800
    X = pd.DataFrame({"plan": rng.integers(0, 6, n), "region": rng.integers(0, 30, n), "amount": rng.normal(0, 1, n)})
    y = ((X["plan"] % 3 == 0) ^ (X["amount"] > 0.3) ^ (X["region"] < 8)).astype(int).to_numpy()
    model = HistGradientBoostingClassifier(max_iter=40, categorical_features=[True, True, False], random_state=0)
    model.fit(X, y)
    result = compile_sklearn(model)
    assert result is not None
    assert np.array_equal(compiled_scores(result, X, MAX_ROWS), sklearn_scores(model, X))
    unseen = pd.DataFrame(
        {
            "plan": [0, 5, 6, 7, 40, 255, 256, 300, -1, -7],
            "region": [29, 30, 31, -1, -30, 0, 1000, 12, 5, 3],
            "amount": np.linspace(-1.0, 1.0, 10),
        }
    )
    scores = result.predict(unseen)
    assert scores is not None
    assert np.array_equal(scores, sklearn_scores(model, unseen))

    infinite = unseen.assign(plan=np.where(np.arange(10) == 3, np.inf, unseen["plan"]))
    assert result.predict(infinite) is None  # scikit-learn refuses infinite categories; so must the model
    with pytest.raises(ValueError, match="infinity"):
        as_loaded(model).score(infinite)


# --- what is not compiled -----------------------------------------------------------------------


def multiclass_hgb(churn: Churn, baseline: Any) -> Any:
    X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=0)
    return HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(pd.DataFrame(X).add_prefix("f"), y)


def hgb_fitted_on_an_array(churn: Churn, baseline: Any) -> Any:
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    return HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)


def encoder_that_raises_on_unknowns(churn: Churn, baseline: Any) -> Any:
    X, y = churn
    pipeline = build_challenger().set_params(
        model__max_iter=10, columns__cat__handle_unknown="error", columns__cat__unknown_value=None
    )
    return pipeline.fit(X, y)


def test_an_encoder_that_raises_on_unknowns_compiles_and_leaves_them_to_sklearn(churn: Churn) -> None:
    """OrdinalEncoder's default: scikit-learn refuses an unknown category (and NaN, unseen in fit).
    Batches of known values score compiled; a batch holding either is scikit-learn's, to refuse."""
    X, _ = churn
    pipeline = encoder_that_raises_on_unknowns(churn, None)
    model = as_loaded(pipeline)
    assert model.compiled is not None
    rows = X.iloc[:200]
    assert np.array_equal(compiled_scores(model.compiled, rows, 50), sklearn_scores(pipeline, rows))
    for value in ("carrier pigeon", np.nan):
        odd = rows.iloc[:5].astype({"payment_method": object})
        odd.loc[odd.index[2], "payment_method"] = value
        assert model.compiled.predict(odd) is None
        with pytest.raises(ValueError, match="unknown categor"):
            sklearn_scores(pipeline, odd)
        with pytest.raises(ValueError, match="unknown categor"):
            model.score(odd)


def logistic_regression_pipeline(churn: Churn, baseline: Any) -> Any:
    return baseline


def weighted_column_transformer(churn: Churn, baseline: Any) -> Any:
    X, y = churn
    pipeline = build_challenger().set_params(model__max_iter=10, columns__transformer_weights={"rest": 2.0})
    return pipeline.fit(X, y)


def checks_that_refuse_missing_values(churn: Churn, baseline: Any) -> Any:
    """A ``check_array`` step like HistGradientBoosting's own, but one that refuses NaN: the self
    check's rows make scikit-learn raise, which must leave the model uncompiled, not unloadable."""
    X, y = churn
    strict = FunctionTransformer(partial(check_array, dtype=[np.float64], ensure_all_finite=True))
    numeric = [c for c in X.columns if c not in CATEGORICAL and c != "total_charges"]
    columns = ColumnTransformer([("checked", strict, numeric)])
    return Pipeline([("columns", columns), ("model", HistGradientBoostingClassifier(max_iter=10))]).fit(X, y)


@pytest.mark.parametrize(
    "build",
    [
        logistic_regression_pipeline,
        multiclass_hgb,
        hgb_fitted_on_an_array,
        weighted_column_transformer,
        checks_that_refuse_missing_values,
    ],
)
def test_not_compiled(build: Callable[[Churn, Any], Any], churn: Churn, baseline_model: Any) -> None:
    assert compile_sklearn(build(churn, baseline_model)) is None


# --- batches left to scikit-learn ---------------------------------------------------------------


def too_many_rows(X: pd.DataFrame) -> pd.DataFrame:
    return X.iloc[: MAX_ROWS + 1]


def none_in_a_string_column(X: pd.DataFrame) -> pd.DataFrame:
    rows = X.iloc[:20].astype({"contract": object})
    rows.loc[rows.index[3], "contract"] = None
    return rows


def nullable_integer_column(X: pd.DataFrame) -> pd.DataFrame:
    return X.iloc[:20].astype({"tenure": "Int64"})


@pytest.mark.parametrize("batch", [too_many_rows, none_in_a_string_column, nullable_integer_column])
def test_deferred_batches_get_sklearn_scores(
    batch: Callable[[pd.DataFrame], pd.DataFrame], compiled: CompiledSklearn, challenger: Any, churn: Churn
) -> None:
    X, _ = churn
    rows = batch(X)
    model = as_loaded(challenger)
    assert model.compiled is not None
    assert np.array_equal(model.score(rows), sklearn_scores(challenger, rows))
    assert compiled.predict(rows) is None


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "boolean"])
def test_nullable_columns_with_missing_values_get_sklearn_scores(
    dtype: str, regressor: HistGradientBoostingRegressor, diabetes: tuple
) -> None:
    """scikit-learn reads pd.NA in a nullable column as NaN; the compiled scorer leaves such columns to it."""
    X, _ = diabetes
    rows = X.iloc[:20].copy()
    rows["sex"] = (rows["sex"] > 0).astype(dtype).mask(rows["sex"].isna() | (np.arange(20) % 4 == 0))
    assert rows["sex"].isna().any()
    model = as_loaded(regressor)
    assert model.compiled is not None
    assert np.array_equal(model.score(rows), regressor.predict(rows))
    assert model.compiled.predict(rows) is None


def test_pipeline_refuses_pd_na_as_sklearn_does(challenger: Any, churn: Churn) -> None:
    """scikit-learn's ColumnTransformer refuses pd.NA in a passed-through column; so does the flavor."""
    X, _ = churn
    rows = X.iloc[:20].astype({"tenure": "Int64"})
    rows.loc[rows.index[4], "tenure"] = pd.NA
    with pytest.raises(ValueError, match=r"uses pandas\.NA"):
        sklearn_scores(challenger, rows)
    with pytest.raises(ValueError, match=r"uses pandas\.NA"):
        as_loaded(challenger).score(rows)


# --- the load-time self check, the switch, a round trip -----------------------------------------


def test_self_check_refuses_a_scorer_one_ulp_off(
    challenger: Any, regressor: HistGradientBoostingRegressor, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert compile_sklearn(challenger) is not None
    assert compile_sklearn(regressor) is not None
    exact = _Trees.raw

    def one_ulp_up(self: _Trees, X: np.ndarray) -> np.ndarray | None:
        raw = exact(self, X)
        return None if raw is None else np.nextafter(raw, np.inf)

    monkeypatch.setattr(_Trees, "raw", one_ulp_up)
    assert compile_sklearn(challenger) is None
    assert compile_sklearn(regressor) is None


def test_environment_switches_compiling_off(
    challenger: Any, churn: Churn, expected: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = churn
    monkeypatch.delenv("MODELYARD_SKLEARN_COMPILED", raising=False)
    assert as_loaded(challenger).compiled is not None
    monkeypatch.setenv("MODELYARD_SKLEARN_COMPILED", "0")
    model = as_loaded(challenger)
    assert model.compiled is None
    assert np.array_equal(model.score(X.iloc[:40]), expected[:40])


def test_the_yards_own_setting_decides_over_the_environment(
    challenger: Any, yard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Settings(sklearn_compiled=False)`` given in code switches compiling off for that yard's
    loads; a yard whose settings say true compiles even when the environment says false."""
    from modelyard import Yard

    monkeypatch.delenv("MODELYARD_SKLEARN_COMPILED", raising=False)
    mv = yard.register("churn", challenger)
    with Yard(yard.settings.model_copy(update={"sklearn_compiled": False})) as off:
        assert off.load("churn", mv.version).compiled is None
    monkeypatch.setenv("MODELYARD_SKLEARN_COMPILED", "0")
    assert yard.settings.sklearn_compiled
    assert yard.load("churn", mv.version).compiled is not None
    assert as_loaded(challenger).compiled is None  # outside a yard, the environment decides


def test_skops_round_trip_compiles_and_scores_the_same(challenger: Any, churn: Churn, expected: np.ndarray) -> None:
    X, _ = churn
    flavor = SklearnFlavor()
    loaded = flavor.load(flavor.save(challenger))
    assert loaded.compiled is not None
    rows = with_gaps(X)
    assert np.array_equal(loaded.compiled.predict(X.iloc[-MAX_ROWS:]), expected[-MAX_ROWS:])
    assert np.array_equal(loaded.score(X.iloc[-MAX_ROWS:]), expected[-MAX_ROWS:])
    assert np.array_equal(loaded.score(rows), sklearn_scores(challenger, rows))


# --- pipelines that end in LightGBM -------------------------------------------------------------


def lightgbm_pipeline(churn: Churn, model: Any, encoder: Any = None) -> Any:
    """The demo challenger's front (categories through an OrdinalEncoder, the rest passed on) before
    a LightGBM model, which is fitted on the array the front makes."""
    from sklearn.preprocessing import OrdinalEncoder

    X, y = churn
    numeric = [c for c in X.columns if c not in CATEGORICAL]
    encoder = encoder or OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    front = ColumnTransformer([("categories", encoder, CATEGORICAL), ("rest", "passthrough", numeric)])
    return Pipeline([("columns", front), ("model", model)]).fit(X.iloc[:5000], y[:5000])


@pytest.mark.parametrize("size", [1, 17, MAX_ROWS])
def test_a_pipeline_ending_in_lgbm_classifier_scores_as_sklearn(churn: Churn, size: int) -> None:
    """Its booster scores the compiled front's array: the very floats predict_proba gives, also for
    missing values and categories the encoder never saw."""
    from lightgbm import LGBMClassifier

    X, _ = churn
    pipeline = lightgbm_pipeline(churn, LGBMClassifier(n_estimators=30, verbose=-1))
    model = as_loaded(pipeline)
    assert model.compiled is not None and model.compiled.booster is not None
    rows = pd.concat([X.iloc[5000:5512], with_gaps(X)])
    assert np.array_equal(compiled_scores(model.compiled, rows, size), sklearn_scores(pipeline, rows))
    assert np.array_equal(model.score(rows.iloc[:size]), sklearn_scores(pipeline, rows.iloc[:size]))


def test_a_pipeline_ending_in_lgbm_regressor_scores_as_sklearn(churn: Churn) -> None:
    from lightgbm import LGBMRegressor

    X, _ = churn
    pipeline = lightgbm_pipeline(churn, LGBMRegressor(n_estimators=30, verbose=-1))
    compiled = compile_sklearn(pipeline)
    assert compiled is not None and not compiled.classifier
    rows = X.iloc[5000:5200]
    assert np.array_equal(compiled_scores(compiled, rows, 50), pipeline.predict(rows))


def test_a_pipeline_ending_in_multiclass_lightgbm_is_not_compiled(churn: Churn) -> None:
    from lightgbm import LGBMClassifier

    X, y = churn
    three = np.where(X["tenure"].to_numpy() > 40, 2, y)
    numeric = [c for c in X.columns if c not in CATEGORICAL]
    front = ColumnTransformer([("rest", "passthrough", numeric)])
    pipeline = Pipeline([("columns", front), ("model", LGBMClassifier(n_estimators=5, verbose=-1))]).fit(X, three)
    assert compile_sklearn(pipeline) is None
