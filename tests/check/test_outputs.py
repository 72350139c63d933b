"""Outputs: shape, dtype, NaN, range, label set; almost-right answers get the exact adapter line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from check import leaky_models
from modelyard.check import OutputAdapter, Status
from modelyard.check._determinism import determinism_checks
from modelyard.check._outputs import PredictFailure, output_checks
from modelyard.flavors import load_model, save_model


def _loaded(func):  # type: ignore[no-untyped-def]
    return load_model(save_model(func))


def _report(spec, func, frame, adapters=None):  # type: ignore[no-untyped-def]
    return output_checks(spec, _loaded(func), frame.iloc[:200], adapters or {}, threshold=0.5)


def _row(report, name):  # type: ignore[no-untyped-def]
    return next(r for r in report.rows if r.name == name)


def test_a_healthy_model_passes_every_output_check(spec, features) -> None:  # type: ignore[no-untyped-def]
    report = _report(spec, leaky_models.healthy, features)
    assert {r.name: r.status for r in report.rows} == {
        "output shape": Status.PASS,
        "output dtype": Status.PASS,
        "output NaN/inf": Status.PASS,
        "output range": Status.PASS,
        "output values": Status.PASS,
        "label set": Status.PASS,
    }
    n = features["monthly_charges"].iloc[:200].nunique()
    assert _row(report, "output values").message == f"score takes {n} values on 200 rows"
    assert report.scores is not None and report.scores.shape == (200,)


@pytest.mark.parametrize(
    ("func", "name", "status", "line"),
    [
        (leaky_models.two_column_proba, "output shape", Status.WARN, "adapter: {column: 1}"),
        (leaky_models.proba_column, "output shape", Status.FAIL, "adapter: {column: proba}"),
        (leaky_models.percent, "output range", Status.FAIL, "adapter: {scale: 0.01}"),
        (leaky_models.proba_percent, "output range", Status.FAIL, "adapter: {column: proba, scale: 0.01}"),
    ],
)
def test_almost_right_outputs_get_the_adapter_line(spec, features, func, name, status, line) -> None:  # type: ignore[no-untyped-def]
    report = _report(spec, func, features)
    row = _row(report, name)
    assert row.status == status
    assert row.fix == f"add under outputs/score in the spec: {line}"
    # with the adapter applied, the scores are the healthy model's
    assert report.scores == pytest.approx(_report(spec, leaky_models.healthy, features).scores)


def test_a_renamed_percent_column_gets_one_line_for_both(spec, features) -> None:  # type: ignore[no-untyped-def]
    report = _report(spec, leaky_models.proba_percent, features)
    line = "add under outputs/score in the spec: adapter: {column: proba, scale: 0.01}"
    assert _row(report, "output shape").fix == line
    assert _row(report, "output range").fix == line


def test_a_declared_adapter_makes_it_pass(spec, features) -> None:  # type: ignore[no-untyped-def]
    adapters = {"score": OutputAdapter("score", column="proba", scale=0.01)}
    report = _report(spec, leaky_models.proba_percent, features, adapters)
    assert all(r.status == Status.PASS for r in report.rows), report.rows
    assert "adapter: {column: proba, scale: 0.01}" in _row(report, "output shape").message
    assert report.scorer is not None
    assert report.scorer(features.iloc[:3]) == pytest.approx(features["monthly_charges"].iloc[:3] / 120)


def test_a_declared_adapter_that_does_not_fit_fails(spec, features) -> None:  # type: ignore[no-untyped-def]
    report = _report(spec, leaky_models.healthy, features, {"score": OutputAdapter("score", column="proba")})
    row = _row(report, "output shape")
    assert row.status == Status.FAIL
    assert "the spec's adapter: {column: proba} does not fit the model's answer" in row.message
    assert report.scorer is None


def test_labels_instead_of_scores_fail(spec, features) -> None:  # type: ignore[no-untyped-def]
    row = _row(_report(spec, leaky_models.labels, features), "output dtype")
    assert row.status == Status.FAIL
    assert "not numeric scores" in row.message
    assert row.fix == "return the probability of the positive class (predict_proba), not labels"


def test_nan_scores_name_the_first_row(spec, features) -> None:  # type: ignore[no-untyped-def]
    frame = features.iloc[:200].copy()
    frame.iloc[4, frame.columns.get_loc("monthly_charges")] = np.nan
    report = output_checks(spec, _loaded(leaky_models.healthy), frame, {}, threshold=0.5)
    row = _row(report, "output NaN/inf")
    assert row.status == Status.FAIL
    assert row.message.startswith("1 of 200 scores are NaN or infinite, e.g. row 4")


def test_a_model_that_raises_shows_the_first_failing_row(spec, features) -> None:  # type: ignore[no-untyped-def]
    first = int(np.flatnonzero(features["contract"].eq("Month-to-month").to_numpy())[0])
    message = rf"raised ValueError: cannot score month-to-month contracts on row {first} "
    with pytest.raises(PredictFailure, match=message):
        _report(spec, leaky_models.raises_on_month_to_month, features)


def test_positive_class_must_be_the_specs(spec, features, churn_frame) -> None:  # type: ignore[no-untyped-def]
    from modelyard.demo import build_baseline

    x, y = churn_frame
    model = build_baseline().fit(x, y.map({True: "stays", False: "churns"}))
    report = output_checks(spec, load_model(save_model(model)), features.iloc[:100], {}, threshold=0.5)
    row = _row(report, "label set")
    assert row.status == Status.FAIL
    assert "the model's positive class (scored as score) is 'stays' of ['churns', 'stays']" in row.message
    assert row.fix.endswith("if 'stays' is what the spec means by True, set positive_label: 'stays' in the spec")


def test_a_model_scoring_the_other_class_is_not_told_to_rename_positive_label(  # type: ignore[no-untyped-def]
    spec, features, churn_frame
) -> None:
    """The spec's class is among the model's, but the model scores the other one: renaming
    positive_label would price the use case's mistakes the wrong way round."""
    from modelyard.demo import build_baseline

    x, y = churn_frame
    model = build_baseline().fit(x, y.map({True: "churns", False: "stays"}))
    spec = spec.model_copy(update={"positive_label": "churns"})
    report = output_checks(spec, load_model(save_model(model)), features.iloc[:100], {}, threshold=0.5)
    row = _row(report, "label set")
    assert row.status == Status.FAIL
    assert "set positive_label" not in row.fix
    assert row.fix.startswith("train with the label encoded so that 'churns' is the positive class (e.g. y ==")
    assert row.fix.endswith("do not change positive_label: the spec's costs are for 'churns'")


def test_determinism_and_batch_consistency(features) -> None:  # type: ignore[no-untyped-def]
    frame = features.iloc[:150]
    healthy = _loaded(leaky_models.healthy).score
    assert [r.status for r in determinism_checks(healthy, frame, healthy(frame))] == [Status.PASS, Status.PASS]
    random = _loaded(leaky_models.random_scores).score
    det, _ = determinism_checks(random, frame, random(frame))
    assert det.status == Status.FAIL and det.message.startswith("150 of 150 rows differ when scored twice, e.g. row 0")
    batchy = _loaded(leaky_models.batch_normalised).score
    _, single = determinism_checks(batchy, frame, batchy(frame))
    assert single.status == Status.FAIL
    assert "rows differ when in a batch vs alone" in single.message
    assert single.fix == "make predict treat each row on its own (no per-batch statistics or normalisation)"


def test_outputs_of_a_frame_without_a_matching_column(spec, features) -> None:  # type: ignore[no-untyped-def]
    def two_named(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"a": np.zeros(len(frame)), "zzz": np.zeros(len(frame))})

    loaded = load_model(save_model(two_named, trust=True), trust=True)
    report = output_checks(spec, loaded, features.iloc[:10], {}, threshold=0.5)
    assert _row(report, "output shape").status == Status.FAIL


_LABELS_FIX = "return the probability of the positive class (predict_proba(X)[:, 1]), not the predicted label"


@pytest.mark.parametrize(
    ("func", "shown", "kind"),
    [
        (leaky_models.hard_labels, "0 and 1", "int64 "),
        (leaky_models.bool_labels, "False and True", "bool "),
        (leaky_models.float_labels, "0 and 1", ""),
    ],
)
def test_labels_in_the_scores_place_fail(spec, features, func, shown, kind) -> None:  # type: ignore[no-untyped-def]
    """Every other output row passes for these (0/1 is numeric, finite, within [0, 1]): only the values tell."""
    report = _report(spec, func, features)
    row = _row(report, "output values")
    assert row.status == Status.FAIL
    assert row.message == (
        f"score takes only 2 values ({shown}) on 200 rows: the model returns {kind}labels, not scores, "
        "so the use case's cost-optimal threshold has nothing to choose"
    )
    assert row.measured == "2 distinct on 200 rows"
    assert row.fix == _LABELS_FIX
    assert [r.name for r in report.rows if r.status == Status.FAIL] == ["output values"]


@pytest.mark.parametrize("rows", [1, 3])
def test_typed_labels_fail_on_any_sample(spec, features, rows) -> None:  # type: ignore[no-untyped-def]
    """A boolean or an integer in [0, 1] can only be a label: its type says so, however few the rows."""
    for func in (leaky_models.hard_labels, leaky_models.bool_labels):
        report = output_checks(spec, _loaded(func), features.iloc[:rows], {}, threshold=0.5)
        assert _row(report, "output values").status == Status.FAIL


def test_a_tiny_sample_raises_no_false_alarm(spec, features) -> None:  # type: ignore[no-untyped-def]
    frame = features.iloc[:3]
    healthy = output_checks(spec, _loaded(leaky_models.healthy), frame, {}, threshold=0.5)
    assert _row(healthy, "output values").status == Status.PASS
    assert _row(healthy, "output values").message == "score takes 3 values on 3 rows"
    floats = _row(output_checks(spec, _loaded(leaky_models.float_labels), frame, {}, threshold=0.5), "output values")
    assert floats.status == Status.SKIP
    assert floats.message.startswith("not judged: score takes only ")
    assert floats.message.endswith("on 3 rows, and 3 different rows are too few to tell scores from labels")
    assert floats.fix == "to have it judged, check with 100 or more different production rows"


def test_many_copies_of_one_row_are_one_row(spec, features) -> None:  # type: ignore[no-untyped-def]
    """A sample of 500 identical rows fairly gets one score: not a false alarm."""
    frame = features.iloc[[0] * 500].reset_index(drop=True)
    row = _row(output_checks(spec, _loaded(leaky_models.float_labels), frame, {}, threshold=0.5), "output values")
    assert row.status == Status.SKIP
    assert "on 500 rows, and 1 different row are too few" in row.message


def test_float_labels_on_a_small_sample_warn(spec, features) -> None:  # type: ignore[no-untyped-def]
    frame = features.iloc[:50]
    assert frame["contract"].nunique() > 1 and not frame.duplicated().any()
    row = _row(output_checks(spec, _loaded(leaky_models.float_labels), frame, {}, threshold=0.5), "output values")
    assert row.status == Status.WARN
    assert row.message == (
        "score takes only 2 values (0 and 1) on 50 rows: the model looks like it returns labels, not scores "
        "(50 different rows; 100 make it certain)"
    )
    assert row.fix == _LABELS_FIX


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (
            leaky_models.two_scores,
            "score takes only 2 values (0.2 and 0.8) on 200 rows: a threshold can only split the rows one way, "
            "so the cost-optimal threshold has little to choose from",
        ),
        (
            leaky_models.constant,
            "score takes only 1 value (0.27) on 200 rows: every row gets the same score, so a threshold can only "
            "act on everyone or on no one",
        ),
    ],
)
def test_few_scores_that_are_not_labels_warn(spec, features, func, message) -> None:  # type: ignore[no-untyped-def]
    row = _row(_report(spec, func, features), "output values")
    assert row.status == Status.WARN
    assert row.message == message
    assert row.fix.startswith("return a score that ranks the rows, such as the probability of the positive class")


def test_a_classifier_sure_of_every_row_fails_with_its_flavors_fix(spec, features, churn_frame) -> None:  # type: ignore[no-untyped-def]
    """One nearest neighbour: predict_proba gives only 0 and 1, as good as labels."""
    from sklearn.neighbors import KNeighborsClassifier

    x, y = churn_frame
    columns = ["tenure", "monthly_charges"]
    model = KNeighborsClassifier(n_neighbors=1).fit(x[columns], y)
    report = output_checks(spec, load_model(save_model(model)), features.iloc[:300], {}, threshold=0.5)
    row = _row(report, "output values")
    assert row.status == Status.FAIL
    assert row.message.startswith("score takes only 2 values (0 and 1) on 300 rows: the model returns labels")
    assert row.fix.startswith("the sklearn flavor scores the model's probability of the positive class: if the model")
    assert row.fix.endswith("limit its depth or leaf size, or calibrate it (CalibratedClassifierCV)")


def _lightgbm(x, y):  # type: ignore[no-untyped-def]
    lightgbm = pytest.importorskip("lightgbm")
    numeric = x.select_dtypes("number")
    return lightgbm.LGBMClassifier(n_estimators=50, verbose=-1).fit(numeric, y)


@pytest.mark.parametrize("kind", ["logistic regression", "hist gradient boosting", "lightgbm"])
def test_real_classifiers_have_many_scores(spec, features, churn_frame, baseline_model, kind) -> None:  # type: ignore[no-untyped-def]
    from modelyard.demo import build_challenger

    x, y = churn_frame
    model = {
        "logistic regression": lambda: baseline_model,
        "hist gradient boosting": lambda: build_challenger().fit(x, y),
        "lightgbm": lambda: _lightgbm(x, y),
    }[kind]()
    report = output_checks(spec, load_model(save_model(model)), features, {}, threshold=0.5)
    row = _row(report, "output values")
    assert row.status == Status.PASS, row
    assert row.details == {} and int(row.measured.split()[0].replace(",", "")) > 50
