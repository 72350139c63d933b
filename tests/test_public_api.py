"""The public API is what ``__all__`` says, and every name in it exists and is documented."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import modelyard

PACKAGES = [
    "modelyard",
    "modelyard.spec",
    "modelyard.flavors",
    "modelyard.store",
    "modelyard.registry",
    "modelyard.artifacts",
    "modelyard.cli",
    "modelyard.demo",
    "modelyard.data",
    "modelyard.board",
    "modelyard.evaluate",
    "modelyard.check",
    "modelyard.serve",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_has_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for member in module.__all__:
        obj = getattr(module, member)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, f"{name}.{member} has no docstring"


def test_top_level_exports_are_the_documented_set() -> None:
    public = {n for n in dir(modelyard) if not n.startswith("_") and not isinstance(getattr(modelyard, n), ModuleType)}
    assert public == set(modelyard.__all__) - {"__version__"}


def test_errors_carry_exit_codes_and_statuses() -> None:
    assert modelyard.UsageError("x").exit_code == 2
    assert modelyard.NotFoundError("x").http_status == 404
    assert modelyard.DuplicateRegistrationError("x").to_dict() == {
        "error": {"type": "DuplicateRegistrationError", "message": "x"}
    }
