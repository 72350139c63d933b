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


def test_rows_returned_in_another_order_are_put_back_in_the_input_order() -> None:
    from modelyard.data import FeatureCode

    raw = pd.DataFrame({"key": ["a", "b", "c"], "x": [1, 2, 3]})
    code = FeatureCode("m:reversed", lambda frame: frame.assign(double=frame["x"] * 2).iloc[::-1], "0")
    out = code.apply(raw)
    assert out.index.tolist() == [0, 1, 2] and out["key"].tolist() == ["a", "b", "c"]
    assert out["double"].tolist() == [2, 4, 6]
    labelled = raw.set_axis(["p", "q", "r"])  # labels other than 0..n-1, kept in the input's order too
    assert code.apply(labelled)["key"].tolist() == ["a", "b", "c"]


def test_a_fresh_index_on_a_fresh_range_index_is_the_input_order() -> None:
    """What a request's rows give the server: a RangeIndex in, a new frame with a RangeIndex out."""
    from modelyard.data import FeatureCode

    code = FeatureCode("m:fresh", lambda frame: pd.DataFrame({"double": (frame["x"] * 2).to_numpy()}), "0")
    assert code.apply(pd.DataFrame({"x": [1, 2, 3]}))["double"].tolist() == [2, 4, 6]


@pytest.mark.parametrize(
    ("name", "function", "which"),
    [
        ("m:sorted", lambda frame: frame.sort_values("x").reset_index(drop=True), "(e.g. 0, not one of the input's)"),
        ("m:shifted", lambda frame: frame.set_axis(frame.index + 1000), "(e.g. 1010, not one of the input's)"),
        ("m:repeated", lambda frame: frame.set_axis([10, 10, 11]), "(labels repeated)"),
    ],
)
def test_rows_under_other_index_labels_are_refused(name: str, function, which: str) -> None:  # type: ignore[no-untyped-def]
    from modelyard.data import FeatureCode

    raw = pd.DataFrame({"x": [3, 1, 2]}, index=[10, 11, 12])
    with pytest.raises(DataError) as caught:
        FeatureCode(name, function, "0").apply(raw, partition="partition p.parquet")
    assert caught.value.message == (
        f"The feature code {name} returned rows with another index than its input in partition p.parquet {which}; "
        "keep the input's index (no reset_index or new index), so each row stays with its key"
    )
