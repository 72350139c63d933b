"""modelyard.check's public API is its ``__all__``; every name exists and is documented."""

from __future__ import annotations

import inspect

import modelyard.check as check


def test_exported_names_exist_and_have_docstrings() -> None:
    assert check.__doc__
    for name in check.__all__:
        obj = getattr(check, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, name


def test_run_check_signature_is_the_documented_one() -> None:
    params = inspect.signature(check.run_check).parameters
    keyword_only = ("data", "soak_seconds", "trust", "progress")
    assert list(params) == ["yard", "use_case", "model", *keyword_only]
    assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY for p in keyword_only)


def test_exit_codes() -> None:
    ok = check.CheckResult("churn", "m", None, None, 1, [check.Check("a", check.Status.WARN, "w")])
    assert ok.passed and ok.exit_code == 0
    bad = check.CheckResult("churn", "m", None, None, 1, [check.Check("a", check.Status.FAIL, "f")])
    assert not bad.passed and bad.exit_code == 1
    stopped = check.CheckResult("churn", "m", None, None, 1, complete=False)
    assert stopped.exit_code == 1
