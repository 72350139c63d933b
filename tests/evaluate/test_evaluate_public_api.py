"""The public API of modelyard.evaluate is its __all__, every name documented."""

from __future__ import annotations

import modelyard.evaluate as ev


def test_every_exported_name_exists_and_has_a_docstring() -> None:
    assert ev.__doc__
    for name in ev.__all__:
        obj = getattr(ev, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, f"modelyard.evaluate.{name} has no docstring"


def test_the_schema_documents_every_top_level_key() -> None:
    for key in ("schema_version", "verdict", "reasons", "models", "comparison", "segments", "gates", "stability"):
        assert f"``{key}``" in ev.SCHEMA
