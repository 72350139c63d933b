"""The JSON Schema shipped for editors: complete help text, and never stale."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from modelyard.spec import json_schema, load_use_case, write_json_schema
from modelyard.spec._schema import SCHEMA_PATH


def test_the_committed_schema_is_up_to_date() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == json_schema(), "run: python -c 'from modelyard.spec import write_json_schema as w; w()'"


def test_write_json_schema(tmp_path: Path) -> None:
    target = write_json_schema(tmp_path / "schema.json")
    assert json.loads(target.read_text(encoding="utf-8")) == json_schema()


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"UseCase.{name}", prop) for name, prop in schema["properties"].items()]
    for model, definition in schema.get("$defs", {}).items():
        found += [(f"{model}.{name}", prop) for name, prop in definition.get("properties", {}).items()]
    return found


def test_every_field_has_a_title_and_a_description() -> None:
    schema = json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    missing = [name for name, prop in _properties(schema) if not (prop.get("title") and prop.get("description"))]
    assert missing == []
    for model, definition in schema["$defs"].items():
        assert definition.get("description"), model


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value.isoformat() if isinstance(value, date) else value


def test_the_demo_spec_validates_against_the_schema(demo_spec: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    data = _json_ready(YAML(typ="safe").load(demo_spec.read_text(encoding="utf-8")))
    jsonschema.validate(data, json_schema())
    jsonschema.validate(load_use_case(demo_spec).to_yaml_dict(), json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "colour": "red"}, json_schema())
