"""Feature code that is broken in itself (not in the rows) is reported by module and line, never as a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from modelyard import DataError, UsageError
from modelyard.data import load_feature_code
from modelyard.data._features import check_unique_columns


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:features"


def test_a_module_with_a_syntax_error_names_the_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _module(tmp_path, monkeypatch, "feat_syntax", "import pandas\n\ndef features(raw)\n    return raw\n")
    with pytest.raises(UsageError) as caught:
        load_feature_code(path)
    message = str(caught.value)
    assert message.startswith(
        "data.features 'feat_syntax:features': importing module 'feat_syntax' failed: SyntaxError"
    )
    assert "feat_syntax.py, line 3); fix the module" in message


def test_a_module_that_raises_on_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _module(tmp_path, monkeypatch, "feat_raises", "raise RuntimeError('no config file')\n")
    with pytest.raises(UsageError, match=r"importing module 'feat_raises' failed: RuntimeError: no config file; fix"):
        load_feature_code(path)


def test_feature_code_that_calls_sys_exit_is_a_failure_naming_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "import sys\n\ndef features(raw):\n    if (raw['x'] < 0).any():\n        sys.exit(3)\n    return raw\n"
    code = load_feature_code(_module(tmp_path, monkeypatch, "feat_exit", source))
    with pytest.raises(DataError, match=r"failed on the data, row 2: SystemExit: 3; fix the function"):
        code.apply(pd.DataFrame({"x": [1, 2, -3, 4]}))


def test_feature_code_that_returns_a_column_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = "import pandas as pd\n\ndef features(raw):\n    return pd.concat([raw, raw[['x']]], axis=1)\n"
    code = load_feature_code(_module(tmp_path, monkeypatch, "feat_twice", source))
    out = code.apply(pd.DataFrame({"x": [1], "y": [2]}))
    with pytest.raises(DataError, match=r"returned column\(s\) \['x'\] more than once; return each column once"):
        check_unique_columns(out, code)
    check_unique_columns(out.iloc[:, :2], code)
