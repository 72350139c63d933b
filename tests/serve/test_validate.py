"""The request contract's checks, called directly: the fast path for typed columns and the general one
must accept and refuse the same values, with the same messages."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import DataError
from modelyard.demo.features import INPUTS, churn_features
from modelyard.serve._validate import RequestContract, Rows, concat_rows, shown_as_json
from modelyard.spec import load_use_case

RAW = {
    "customer_id": "0001-A",
    "female": 1,
    "senior_citizen": 0,
    "partner": 1,
    "dependents": 0,
    "tenure": 0,
    "phone_service": 1,
    "multiple_lines": "No",
    "internet_service": "DSL",
    "online_security": "No",
    "online_backup": "Yes",
    "device_protection": "No",
    "tech_support": "No",
    "streaming_tv": "No",
    "streaming_movies": "No",
    "contract": "Month-to-month",
    "paperless_billing": 1,
    "payment_method": "Electronic check",
    "monthly_charges": 29.85,
    "total_charges": None,
}


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> RequestContract:
    path = Path(tmp_path_factory.mktemp("spec")) / "churn.yaml"
    path.write_text(resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8"))
    return RequestContract(load_use_case(path))


def _prepare(contract: RequestContract, changes: dict[str, object] | None = None) -> pd.DataFrame:
    return contract.prepare(concat_rows([Rows.from_records([{**RAW, **(changes or {})}])]))


def test_the_demo_features_come_out_in_the_spec_order(contract: RequestContract) -> None:
    assert [f.name for f in contract.inputs] == INPUTS
    frame = churn_features(concat_rows([Rows.from_records([RAW])]))
    assert list(frame.columns) == INPUTS


def test_typed_columns_pass_unchanged_with_a_null_where_the_spec_allows_one(contract: RequestContract) -> None:
    frame = _prepare(contract)
    assert list(frame.columns) == INPUTS
    assert frame["tenure"].dtype == np.int64 and frame["monthly_charges"].dtype == np.float64
    assert np.isnan(frame["total_charges"].iloc[0])
    assert frame["contract"].iloc[0] == "Month-to-month"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"contract": "Weekly"},
            'Field \'contract\' must be one of ["Month-to-month", "One year", "Two year"]. Got "Weekly"',
        ),
        ({"monthly_charges": -1.0}, "Field 'monthly_charges' must be at least 0"),
        ({"monthly_charges": None}, "Field 'monthly_charges' must not be null. Got null or missing in row 0"),
        ({"total_charges": -5.0}, "Field 'total_charges' must be at least 0"),
        ({"tenure": 1.5}, "Field 'tenure' must be a whole number (int)"),
        ({"female": True}, "Field 'female' must be a number (int). Got true in row 0"),
        ({"internet_service": 3}, "Field 'internet_service' must be a string. Got 3 in row 0"),
    ],
)
def test_a_bad_value_is_named_with_its_field_and_row(
    contract: RequestContract, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError) as caught:
        _prepare(contract, changes)
    assert message in caught.value.message
    assert "row 0" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # a null beside the bad value: the minimum of the column is NaN, yet row 2 is caught
        ([{"total_charges": None}, {}, {"total_charges": -5.0}], "Field 'total_charges' must be at least 0"),
        ([{}, {}, {"tenure": -1}], "Field 'tenure' must be at least 0"),
        ([{}, {}, {"contract": "Weekly"}], "Field 'contract' must be one of"),
    ],
)
def test_the_fast_path_names_the_bad_row_of_a_batch(
    contract: RequestContract, changes: list[dict[str, object]], message: str
) -> None:
    with pytest.raises(DataError) as caught:
        contract.prepare(concat_rows([Rows.from_records([{**RAW, **change} for change in changes])]))
    assert message in caught.value.message
    assert "in row 2 instead" in caught.value.message


def test_an_infinite_value_is_refused_even_where_nulls_are_allowed(contract: RequestContract) -> None:
    frame = churn_features(concat_rows([Rows.from_records([RAW, RAW])]))
    frame["total_charges"] = [10.0, np.inf]
    with pytest.raises(DataError, match=r"Field 'total_charges' must be finite\. Got Infinity in row 1"):
        contract.validate(frame)


def test_the_fast_and_general_paths_give_the_same_frame(contract: RequestContract) -> None:
    """A frame of object columns takes the general path; the same values typed take the fast one."""
    typed = churn_features(concat_rows([Rows.from_records([RAW, {**RAW, "total_charges": "12.5", "tenure": 3}])]))
    untyped = typed.astype(object)
    fast, general = contract.validate(typed), contract.validate(untyped)
    assert list(fast.columns) == list(general.columns) == INPUTS
    pd.testing.assert_frame_equal(fast, general, check_dtype=False)
    assert fast["total_charges"].tolist()[1] == 12.5


def test_columns_in_another_order_are_returned_in_the_spec_order(contract: RequestContract) -> None:
    frame = churn_features(concat_rows([Rows.from_records([RAW])]))
    assert list(contract.validate(frame[INPUTS[::-1]]).columns) == INPUTS


def test_an_input_named_twice_is_refused_by_name(contract: RequestContract) -> None:
    frame = churn_features(concat_rows([Rows.from_records([RAW])]))
    twice = pd.concat([frame, frame[["tenure"]]], axis=1)
    with pytest.raises(DataError, match=r"Field 'tenure' appears 2 times in the model inputs"):
        contract.validate(twice)
    note = frame[["tenure"]].rename(columns={"tenure": "note"})
    other = pd.concat([frame, note, note], axis=1)  # a repeated column the model does not take
    assert list(contract.validate(other).columns) == INPUTS


def test_the_feature_output_owns_its_memory() -> None:
    raw = concat_rows([Rows.from_records([RAW, RAW])])
    frame = churn_features(raw)
    frame.loc[0, "tenure"] = 5  # writable (a model may edit its input in place)
    raw.loc[1, "tenure"] = 77
    assert frame["tenure"].tolist() == [5, 0]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "true"),
        (np.bool_(False), "false"),
        (None, "null"),
        (np.nan, "null"),
        (pd.NA, "null"),
        (pd.NaT, "null"),
        (12, "12"),
        (np.int64(-3), "-3"),
        (2**64, "18446744073709551616"),
        (-1.5, "-1.5"),
        (np.float64(0.1), "0.1"),
        (np.inf, "Infinity"),
        (-np.inf, "-Infinity"),
        ("12", '"12"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ("café", '"café"'),
        ([1, True, None, "a"], '[1,true,null,"a"]'),
        ({"a": False}, '{"a":false}'),
        (pd.Timestamp("2024-12-31"), '"2024-12-31T00:00:00"'),
        (np.datetime64("2024-12-31T12:00"), '"2024-12-31T12:00:00"'),
    ],
)
def test_a_value_is_shown_as_a_client_writes_it_in_json(value: object, shown: str) -> None:
    assert shown_as_json(value) == shown


def test_a_long_value_is_shown_cut_with_its_length() -> None:
    assert shown_as_json("x" * 1000, limit=5) == '"xxxxx"... (1,000 characters)'
    assert shown_as_json(list(range(100)), limit=10) == "[0,1,2,..."


_TIMED_SPEC = """\
name: visits
task: binary_classification
inputs:
  - name: visits
    type: int
  - name: last_visit
    type: datetime
    min: "2020-01-01"
costs:
  false_positive: 1
  false_negative: 5
data:
  source: data.parquet
  label: returned
  time: seen_at
"""


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> RequestContract:
    """No feature code: requests carry the model inputs, a datetime among them, and a time column."""
    path = Path(tmp_path_factory.mktemp("spec")) / "visits.yaml"
    path.write_text(_TIMED_SPEC, encoding="utf-8")
    return RequestContract(load_use_case(path))


def test_a_batch_mixing_utc_offsets_and_naive_times_is_read_as_utc(timed: RequestContract) -> None:
    """Two clients in one micro-batch, one writing "Z", one "+02:00", one no offset: it used to fail
    the whole batch with pandas' "Mixed timezones detected" (a 500 for every request in it)."""
    records = [
        {"visits": 1, "last_visit": "2024-03-01T10:00:00Z"},
        {"visits": 2, "last_visit": "2024-03-01T12:00:00+02:00"},
        {"visits": 3, "last_visit": "2024-03-01 10:00"},
    ]
    frame = timed.prepare(concat_rows([Rows.from_records([r]) for r in records]))
    assert frame["last_visit"].dtype.kind == "M" and frame["last_visit"].dt.tz is None
    assert (frame["last_visit"] == pd.Timestamp("2024-03-01 10:00")).all()


def test_date_times_beyond_nanosecond_range_are_kept(timed: RequestContract) -> None:
    """pandas reads text at microseconds: year 9999 is a date, not an OutOfBoundsDatetime (a 500)."""
    records = [{"visits": 1, "last_visit": v, "seen_at": v} for v in ("2300-01-01", "9999-12-31T23:59:59Z")]
    frame = timed.prepare(concat_rows([Rows.from_records(records)]))
    assert frame["last_visit"].tolist() == [pd.Timestamp("2300-01-01"), pd.Timestamp("9999-12-31 23:59:59")]


@pytest.mark.parametrize(
    ("value", "shown"), [(1709287200, "1709287200"), (True, "true"), ("yesterday", '"yesterday"'), ([1], "[1]")]
)
def test_a_date_time_input_refuses_what_is_not_a_time(timed: RequestContract, value: object, shown: str) -> None:
    message = f"Field 'last_visit' must be a date-time. Got {shown} in row 0 instead; send an ISO 8601 string"
    with pytest.raises(DataError, match=f"^{re.escape(message)}"):
        timed.prepare(concat_rows([Rows.from_records([{"visits": 1, "last_visit": value}])]))


def test_the_time_column_must_be_a_date_time_when_sent(timed: RequestContract) -> None:
    good = {"visits": 1, "last_visit": "2024-03-01"}
    assert len(timed.prepare(concat_rows([Rows.from_records([good])]))) == 1  # not sent: fine
    rows = [{**good, "seen_at": "2024-03-02T08:00:00+01:00"}, {**good, "seen_at": None}]
    assert len(timed.prepare(concat_rows([Rows.from_records(rows)]))) == 2  # null allowed
    message = (
        "Field 'seen_at' must be a date-time. Got \"last tuesday\" in row 1 instead; send an ISO 8601 string such as "
        '"2024-12-31T00:00:00".'
    )
    bad = [{**good, "seen_at": "2024-03-02"}, {**good, "seen_at": "last tuesday"}]
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        timed.prepare(concat_rows([Rows.from_records(bad)]))
