"""What a user hands `register`: a file that is empty, damaged or not a model is named, never a traceback."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import skops.io

from modelyard import DataError, UsageError
from modelyard.flavors import get_flavor
from modelyard.registry._files import read_model_file, read_table


@pytest.mark.parametrize(
    ("name", "content", "trust", "message"),
    [
        ("empty.skops", b"", False, r"is empty \(0 bytes\); give a saved model"),
        ("corrupt.skops", b"not a zip file at all", False, "Cannot read model file .*corrupt.skops: BadZipFile"),
        ("corrupt.pkl", b"\x80\x04garbage", True, "Cannot read model file .*corrupt.pkl: "),
        ("empty.pkl", b"", True, "is empty \\(0 bytes\\)"),
        ("truncated.pkl", pickle.dumps({"a": 1})[:5], True, "Cannot read model file .*truncated.pkl: "),
        ("corrupt.txt", b"tree\nnot lightgbm", False, "Cannot read model file .*corrupt.txt: LightGBMError"),
    ],
)
def test_a_damaged_model_file_is_named(tmp_path: Path, name: str, content: bytes, trust: bool, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        read_model_file(str(path), trust=trust)


def test_a_skops_file_that_holds_no_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dict.skops"
    skops.io.dump({"a": 1}, path)
    with pytest.raises(UsageError, match=r"dict.skops holds a builtins.dict, not a scikit-learn model; save"):
        read_model_file(str(path))


def test_an_empty_onnx_model_is_refused() -> None:
    pytest.importorskip("onnx")
    with pytest.raises(UsageError, match="These 0 bytes are not an ONNX model: they hold no graph with outputs"):
        get_flavor("onnx").describe(b"")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(frame)\n    return frame\n", r"Importing 'probe_broken' for 'probe_broken:f' failed: SyntaxError"),
        ("raise RuntimeError('no config')\n", r"failed: RuntimeError: no config; fix the module"),
    ],
)
def test_an_import_path_to_a_broken_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    (tmp_path / "probe_broken.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match=message):
        read_model_file("probe_broken:f")


@pytest.mark.parametrize(("name", "content"), [("empty.csv", b""), ("bad.parquet", b"PAR1 not really")])
def test_a_damaged_data_file_is_named(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"Cannot read data file .*{name}: .*; give a whole \.(csv|parquet) file"):
        read_table(path)
