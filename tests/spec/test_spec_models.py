"""The UseCase object other modules code against: accessors, costs, round trips, code-built specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from modelyard._exceptions import NotFoundError
from modelyard.spec import CostModel, Feature, Segment, UseCase, load_use_case


@pytest.fixture
def churn(demo_spec: Path) -> UseCase:
    return load_use_case(demo_spec)


def _plain_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "churn",
        "task": "binary_classification",
        "inputs": [{"name": "amount", "type": "float"}],
        "costs": {"false_negative": "amount", "false_positive": 5},
        "data": {"source": "x.parquet", "label": "churned"},
    }
    spec.update(changes)
    return spec


def test_accessors(churn: UseCase) -> None:
    assert churn.input_names[:2] == ("female", "senior_citizen")
    assert len(churn.input_names) == 19
    assert churn.feature("total_charges").nullable is True
    assert isinstance(churn.feature("tenure"), Feature)
    assert {"customer_id", "signup_date", "churned", "tenure"} <= churn.known_columns
    assert churn.budgets.as_dict() == {"latency_p99_ms": 50, "memory_mb": 1024, "artifact_mb": 50}
    assert churn.segment("long_contract").guards[0].metric == "false_positive_rate"


def test_unknown_feature_lists_the_inputs(churn: UseCase) -> None:
    with pytest.raises(NotFoundError, match=r"has no input 'tenur'; did you mean 'tenure'\? inputs: female, "):
        churn.feature("tenur")
    with pytest.raises(NotFoundError, match=r"segments: long_contract$"):
        churn.segment("short")


def test_costs_as_expressions(churn: UseCase) -> None:
    frame = pd.DataFrame({"monthly_charges": [10.0, 100.0], "contract": ["Month-to-month", "Two year"]})
    costs = churn.costs.expressions()
    assert list(costs) == ["true_positive", "false_positive", "true_negative", "false_negative"]
    np.testing.assert_allclose(costs["true_positive"].evaluate(frame), [86.0, 410.0])
    np.testing.assert_allclose(churn.costs.expression("false_positive").evaluate(frame), [50.0, 50.0])
    np.testing.assert_allclose(costs["false_negative"].evaluate(frame), [120.0, 1200.0])
    segment = churn.segment("long_contract")
    assert segment.filter_expression.evaluate(frame).tolist() == [False, True]
    overridden = churn.costs.with_overrides(segment.costs)
    assert isinstance(overridden, CostModel)
    assert overridden.false_positive == 120
    assert overridden.false_negative == churn.costs.false_negative
    assert churn.costs.with_overrides(None) is churn.costs


def test_to_yaml_dict_round_trips(churn: UseCase) -> None:
    data = churn.to_yaml_dict()
    again = UseCase.model_validate(data)
    assert again.to_yaml_dict() == data
    assert again.sha256 is None and again.source_path is None
    assert data["costs"]["false_positive"] == 50.0
    assert "sha256" not in data


def test_dates_round_trip() -> None:
    spec = _plain_spec(
        inputs=[{"name": "amount", "type": "float"}, {"name": "d", "type": "datetime", "min": "2020-01-01"}]
    )
    use_case = UseCase.model_validate(spec)
    assert UseCase.model_validate(use_case.to_yaml_dict()) == use_case


def test_specs_built_in_code_are_checked_across_sections() -> None:
    with pytest.raises(ValidationError, match=r"costs.false_negative: unknown column 'amont'"):
        UseCase.model_validate(_plain_spec(costs={"false_negative": "amont"}))
    with pytest.raises(ValidationError, match=r"gates\[0\].budget: the gate checks budget 'memory_mb'"):
        UseCase.model_validate(_plain_spec(gates=[{"kind": "budget", "budget": "memory_mb"}]))


def test_features_built_in_code_are_checked() -> None:
    with pytest.raises(ValidationError, match="min 3 is greater than max 1"):
        Feature(name="x", type="int", min=3, max=1)
    with pytest.raises(ValidationError, match="missing required key 'categories'"):
        Feature(name="x", type="category")
    with pytest.raises(ValidationError, match="category 'a' is listed twice"):
        Feature(name="x", type="category", categories=["a", "a"])
    with pytest.raises(ValidationError, match="categories is empty"):
        Feature(name="x", type="category", categories=[])


def test_models_are_frozen_and_strict(churn: UseCase) -> None:
    with pytest.raises(ValidationError):
        churn.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Feature(name="x", type="float", nullable="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="must be a condition"):
        Segment(name="s", filter=3)  # type: ignore[arg-type]


def test_empty_optional_sections_mean_none() -> None:
    use_case = UseCase.model_validate(_plain_spec(segments=None, gates=None))
    assert use_case.segments == [] and use_case.gates == []


def test_planned_tasks_are_not_yet_supported() -> None:
    with pytest.raises(ValidationError, match="task 'multiclass_classification' is not supported yet"):
        UseCase.model_validate(_plain_spec(task="multiclass_classification"))


def test_an_output_adapter_is_part_of_the_contract(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources

    from modelyard.spec import load_use_case, validate_file

    text = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text()
    marker = "  - name: score\n    type: float\n"
    assert marker in text
    path = tmp_path / "churn.yaml"
    path.write_text(text.replace(marker, marker + "    adapter: {column: proba, scale: 0.01}\n", 1))
    adapter = load_use_case(path).outputs[0].adapter
    assert adapter is not None and (adapter.column, adapter.scale) == ("proba", 0.01)
    path.write_text(text.replace(marker, marker + "    adapter: {}\n", 1))
    (issue,) = validate_file(path)
    assert issue.key == "outputs[0].adapter" and "sets 'column', 'scale' or both" in issue.message
