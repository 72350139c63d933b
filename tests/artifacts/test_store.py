from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelyard import ArtifactIntegrityError, NotFoundError, UsageError
from modelyard.artifacts import ArtifactStore


def test_bytes_are_stored_under_their_sha256(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    digest = store.put(b"model bytes")
    assert digest == hashlib.sha256(b"model bytes").hexdigest()
    assert Path(store.uri(digest)) == tmp_path / digest[:2] / digest
    assert store.get(digest) == b"model bytes"


def test_putting_the_same_bytes_twice_is_a_no_op(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    assert store.put(b"x") == store.put(b"x")
    assert len(list(tmp_path.rglob("*"))) == 3  # .tmp/, the fan-out folder, the file


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    digest = store.put(b"the real model")
    Path(store.uri(digest)).write_bytes(b"the evil model")
    with pytest.raises(
        ArtifactIntegrityError, match=r"corrupt or was tampered with: its sha256 is .* refusing to load"
    ):
        store.get(digest)


def test_a_missing_artifact_names_the_file(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    digest = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFoundError, match=f"{digest}.*is missing from the artifact store"):
        store.get(digest)


def test_a_digest_must_look_like_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"'\.\./\.\./etc/passwd' is not a sha256 digest"):
        ArtifactStore(str(tmp_path)).get("../../etc/passwd")


def test_an_interrupted_write_leaves_no_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ArtifactStore(str(tmp_path))

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("modelyard.artifacts._store.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"half a model")
    digest = hashlib.sha256(b"half a model").hexdigest()
    assert not store.exists(digest)
    assert store.stray_temporaries() == []


def test_fsspec_urls_work_the_same(tmp_path: Path) -> None:
    store = ArtifactStore("memory://modelyard-test/artifacts")
    digest = store.put(b"remote model")
    assert store.uri(digest).startswith("memory://")
    assert store.uri(digest).endswith(f"/modelyard-test/artifacts/{digest[:2]}/{digest}")
    assert store.get(digest) == b"remote model"
    import fsspec

    with fsspec.open(store.uri(digest), "wb") as fh:
        fh.write(b"swapped")
    with pytest.raises(ArtifactIntegrityError):
        store.get(digest)
