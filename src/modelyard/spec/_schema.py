"""The JSON Schema of a use-case spec, for editors (completion and help while writing YAML)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._models import UseCase

__all__ = ["SCHEMA_PATH", "json_schema", "write_json_schema"]

#: Where the schema ships inside the package; a test keeps it equal to :func:`json_schema`.
SCHEMA_PATH = Path(__file__).with_name("usecase.schema.json")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a use-case YAML file."""
    schema = UseCase.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_json_schema(path: str | os.PathLike[str] = SCHEMA_PATH) -> Path:
    """Write :func:`json_schema` to ``path`` (the packaged schema file by default) and return the path."""
    target = Path(path)
    target.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
