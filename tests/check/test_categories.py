"""Categories: production values the model never saw in training are counted, named and explained."""

from __future__ import annotations

import lightgbm
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from modelyard.check import Status, run_check
from modelyard.check._categories import FAIL_SHARE, category_check, trained_categories
from modelyard.check._model import load_candidate
from modelyard.demo import build_challenger
from modelyard.demo.features import CATEGORICAL, FLAGS, NUMERIC

_SPELLING = {"Fiber optic": "fiber_optic", "DSL": "dsl", "No": "No"}


def _loaded(model):  # type: ignore[no-untyped-def]
    """``model`` saved and loaded as the check loads it."""
    return load_candidate(None, "churn", model, trust=False).loaded


@pytest.fixture(scope="module")
def respelled_lightgbm(churn_frame):  # type: ignore[no-untyped-def]
    """An LGBMClassifier on pandas categories, 'internet_service' spelled unlike production."""
    x, y = churn_frame
    train = x.astype({c: "category" for c in CATEGORICAL})
    train["internet_service"] = x["internet_service"].map(_SPELLING).astype("category")
    return lightgbm.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(train, y)


def _ordinal_hgb(x: pd.DataFrame, y: pd.Series) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
            ("rest", "passthrough", FLAGS + NUMERIC),
        ]
    )
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features=list(range(len(CATEGORICAL))))
    return Pipeline([("columns", columns), ("model", model)]).fit(x, y)


@pytest.fixture(scope="module")
def no_mailed_check(churn_frame):  # type: ignore[no-untyped-def]
    """The demo challenger's layout, trained on customers who do not pay by mailed check (loaded)."""
    x, y = churn_frame
    keep = (x["payment_method"] != "Mailed check").to_numpy()
    return _loaded(_ordinal_hgb(x[keep], y[keep]))


@pytest.mark.parametrize("booster", [False, True], ids=["LGBMClassifier", "Booster"])
def test_lightgbm_categories_spelled_unlike_production_fail(respelled_lightgbm, features, booster) -> None:  # type: ignore[no-untyped-def]
    model = respelled_lightgbm.booster_ if booster else respelled_lightgbm
    row = category_check(_loaded(model), features)
    fiber = int((features["internet_service"] == "Fiber optic").sum())
    dsl = int((features["internet_service"] == "DSL").sum())
    rows = fiber + dsl
    assert row.name == "categories" and row.status == Status.FAIL
    assert row.message == (
        f"{rows} of 600 rows ({rows / 600:.1%}) carry a value of 'internet_service' the model never saw in "
        "training, which the model reads as missing: "
        f"'Fiber optic' ({fiber} rows; looks like the model's 'fiber_optic'), "
        f"'DSL' ({dsl} rows; looks like the model's 'dsl')"
    )
    assert row.measured == f"{rows} of 600 rows ({rows / 600:.1%})" and row.budget == "< 1% of rows"
    assert row.fix == (
        "map 'Fiber optic' to 'fiber_optic', 'DSL' to 'dsl' in the feature code (data.features), "
        "or retrain the model on production's categories"
    )
    column = row.details["columns"]["internet_service"]
    assert column["rows"] == rows and column["unseen"] == {"Fiber optic": fiber, "DSL": dsl}
    assert column["looks_like"] == {"Fiber optic": "fiber_optic", "DSL": "dsl"}
    assert len(row.details["compared"]) == len(CATEGORICAL)


def test_an_ordinal_encoder_trained_on_a_subset_fails_and_names_its_unknown_value(no_mailed_check, features) -> None:  # type: ignore[no-untyped-def]
    row = category_check(no_mailed_check, features)
    mailed = int((features["payment_method"] == "Mailed check").sum())
    assert row.status == Status.FAIL
    assert row.message == (
        f"{mailed} of 600 rows ({mailed / 600:.1%}) carry a value of 'payment_method' the model never saw in "
        f"training, which the encoder codes as unknown_value -1: 'Mailed check' ({mailed} rows)"
    )
    assert row.fix.startswith("map these values to categories the model knows in the feature code")


@pytest.mark.parametrize(("unseen", "status"), [(5, Status.WARN), (6, Status.FAIL)])
def test_a_few_unseen_rows_warn_and_one_percent_fails(no_mailed_check, features, unseen, status) -> None:  # type: ignore[no-untyped-def]
    frame = features.copy()
    mailed = (frame["payment_method"] == "Mailed check").to_numpy()
    frame.loc[mailed, "payment_method"] = "Electronic check"
    frame.loc[frame.index[:unseen], "payment_method"] = "Mailed check"
    assert unseen / len(frame) < FAIL_SHARE if status == Status.WARN else unseen / len(frame) >= FAIL_SHARE
    row = category_check(no_mailed_check, frame)
    assert row.status == status
    assert row.measured == f"{unseen} of 600 rows ({unseen / 600:.1%})"


def test_nulls_are_not_unseen_categories(no_mailed_check, features) -> None:  # type: ignore[no-untyped-def]
    frame = features.copy()
    frame["payment_method"] = frame["payment_method"].where(frame["payment_method"] != "Mailed check", None)
    assert category_check(no_mailed_check, frame).status == Status.PASS


def test_one_hot_behind_an_imputer_names_each_column_and_case_differences(churn_frame, features) -> None:  # type: ignore[no-untyped-def]
    x, y = churn_frame
    train = x.assign(contract=x["contract"].str.lower(), payment_method=x["payment_method"].str.upper())
    encode = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    columns = ColumnTransformer([("cat", encode, ["contract", "payment_method"]), ("num", "passthrough", ["tenure"])])
    model = Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=200))]).fit(train, y)
    row = category_check(_loaded(model), features)
    assert row.status == Status.FAIL and row.details["compared"] == ["contract", "payment_method"]
    month = int((features["contract"] == "Month-to-month").sum())
    assert row.message.startswith(
        "600 of 600 rows (100.0%) carry categories the model never saw in training. 'contract': 600 rows "
        f"(100.0%), which the encoder one-hot codes as all zeros: 'Month-to-month' ({month} rows; looks like "
        "the model's 'month-to-month'), "
    )
    assert ". 'payment_method': 600 rows (100.0%), which the encoder one-hot codes as all zeros: " in row.message
    assert "looks like the model's 'ELECTRONIC CHECK'" in row.message
    assert row.fix.startswith("map 'Month-to-month' to 'month-to-month', ")


def test_hist_gradient_boosting_reads_categories_from_pandas_dtypes(churn_frame, features) -> None:  # type: ignore[no-untyped-def]
    x, y = churn_frame
    keep = (x["contract"] != "Two year").to_numpy()
    train = x[keep].astype({c: "category" for c in CATEGORICAL})
    model = HistGradientBoostingClassifier(max_iter=10).fit(train, y[keep])
    known = {k.column: k for k in trained_categories(_loaded(model), features)}
    assert set(known) == set(CATEGORICAL)
    assert list(known["contract"].categories) == ["Month-to-month", "One year"]
    row = category_check(_loaded(model), features)
    assert row.status == Status.FAIL and list(row.details["columns"]) == ["contract"]
    assert "which the model reads as missing: 'Two year'" in row.message


def test_the_demo_models_pass(churn_frame, baseline_model, features) -> None:  # type: ignore[no-untyped-def]
    x, y = churn_frame
    challenger = category_check(_loaded(build_challenger().set_params(model__max_iter=20).fit(x, y)), features)
    assert challenger.status == Status.PASS
    assert challenger.message == (
        f"every value of 10 category input(s) was seen in training ({', '.join(CATEGORICAL)})"
    )
    assert challenger.measured == "0 of 600 rows"
    baseline = category_check(_loaded(baseline_model), features)
    assert baseline.status == Status.PASS and baseline.details["compared"] == ["contract"]


def test_a_python_function_records_no_categories(features) -> None:  # type: ignore[no-untyped-def]
    row = category_check(_loaded("check.leaky_models:healthy"), features)
    assert row.status == Status.PASS
    assert row.message == "the model records no training categories; nothing to compare"


def test_run_check_reports_unseen_categories_after_the_data_checks(check_yard, respelled_lightgbm, fast) -> None:  # type: ignore[no-untyped-def]
    check_yard.register("churn", respelled_lightgbm)
    result = run_check(check_yard, "churn", "latest", soak_seconds=0)
    names = [c.name for c in result.checks]
    assert names.index("categories") == names.index("data values") + 1
    row = result.check("categories")
    assert row.status == Status.FAIL and "'internet_service'" in row.message
    assert not result.passed and result.complete
    assert "looks like the model's 'fiber_optic'" in row.message
