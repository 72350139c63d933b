"""A content-addressed artifact store: bytes in, sha256 out; every read verified."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from modelyard._exceptions import ArtifactIntegrityError, NotFoundError, UsageError

__all__ = ["ArtifactStore", "open_artifact_store", "sha256_hex"]

_TMP = ".tmp"


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` as 64 lowercase hex characters: an artifact's address."""
    return hashlib.sha256(data).hexdigest()


def _check_digest(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise UsageError(f"{sha256!r} is not a sha256 digest; expected 64 lowercase hex characters")
    return sha256


class ArtifactStore:
    """Artifacts under ``root/ab/abcdef…`` named by the sha256 of their bytes.

    A local folder by default; any fsspec URL (``s3://``, ``gs://``, ``memory://``…) otherwise.
    Writes are atomic: the bytes go to a temporary name first and are renamed into place only
    when complete, so a crash leaves either the whole artifact or none of it.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self._local = "://" not in location or location.startswith("file://")
        if self._local:
            self._root = Path(location.removeprefix("file://"))
            self._root.mkdir(parents=True, exist_ok=True)
        else:
            import fsspec

            self._fs, self._base = fsspec.core.url_to_fs(location)

    def uri(self, sha256: str) -> str:
        """Where the artifact with this digest lives."""
        _check_digest(sha256)
        if self._local:
            return str(self._root / sha256[:2] / sha256)
        return str(self._fs.unstrip_protocol(f"{self._base.rstrip('/')}/{sha256[:2]}/{sha256}"))

    def exists(self, sha256: str) -> bool:
        if self._local:
            return Path(self.uri(sha256)).exists()
        return bool(self._fs.exists(self.uri(sha256)))

    def put(self, data: bytes) -> str:
        """Store ``data`` (a no-op when it is already there) and return its sha256."""
        digest = sha256_hex(data)
        if self.exists(digest):
            return digest
        if self._local:
            self._put_local(digest, data)
        else:
            # Object stores publish an object only when its upload completes.
            self._fs.makedirs(self.uri(digest).rsplit("/", 1)[0], exist_ok=True)
            with self._fs.open(self.uri(digest), "wb") as fh:
                fh.write(data)
        return digest

    def _put_local(self, digest: str, data: bytes) -> None:
        final = Path(self.uri(digest))
        tmp_dir = self._root / _TMP
        tmp_dir.mkdir(exist_ok=True)
        final.parent.mkdir(exist_ok=True)
        tmp = tmp_dir / f"{digest}.{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, sha256: str) -> bytes:
        """The artifact's bytes, after checking they still hash to ``sha256``."""
        uri = self.uri(sha256)
        try:
            if self._local:
                data = Path(uri).read_bytes()
            else:
                with self._fs.open(uri, "rb") as fh:
                    data = fh.read()
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"Artifact {uri} is missing from the artifact store; restore it from a backup "
                "or check MODELYARD_ARTIFACTS points at the right store"
            ) from exc
        actual = sha256_hex(data)
        if actual != sha256:
            raise ArtifactIntegrityError(
                f"Artifact {uri} is corrupt or was tampered with: its sha256 is {actual[:12]}… but the "
                f"registry recorded {sha256[:12]}…; refusing to load it. Restore the file from a backup "
                "or register the model again"
            )
        return data

    def stray_temporaries(self) -> list[Path]:
        """Leftovers of writes that were interrupted (safe to delete)."""
        if not self._local or not (self._root / _TMP).exists():
            return []
        return sorted((self._root / _TMP).iterdir())


def open_artifact_store(location: str) -> ArtifactStore:
    """The artifact store at a folder or fsspec URL."""
    return ArtifactStore(location)
