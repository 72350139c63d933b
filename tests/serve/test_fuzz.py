"""Random JSON at every scoring endpoint of a real server: 4xx or 200, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIELDS = ["tenure", "contract", "total_charges", "female", "customer_id", "dataframe_split", "inputs", "instances"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=json_values, path=st.sampled_from(["/predict/churn", "/invocations", "/v2/models/churn/infer"]))
def test_random_json_never_gets_a_server_error(client: httpx.Client, body: Any, path: str) -> None:
    r = client.post(path, content=json.dumps(body))
    assert r.status_code < 500, (path, body, r.text)
    assert r.status_code == 200 or "error" in r.json() or "error_code" in r.json()


@pytest.fixture
def one_row(raw_rows: list[dict[str, Any]]) -> dict[str, Any]:
    return raw_rows[0]


# Floats stay below 1e12 here: pytest turns warnings into errors, so numpy's overflow warning inside
# the model (a StandardScaler on 1e308) would surface as a model failure that production does not see.
field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(-1e12, 1e12),
    st.text(max_size=8),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(change=st.dictionaries(st.sampled_from(FIELDS[:5]), field_values, min_size=1, max_size=3))
def test_random_field_values_never_get_a_server_error(
    client: httpx.Client, one_row: dict[str, Any], change: dict[str, Any]
) -> None:
    r = client.post("/predict/churn", json=dict(one_row, **change))
    assert r.status_code in (200, 400), r.text
