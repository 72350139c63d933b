"""Content-addressed artifact storage (local folder or any fsspec URL)."""

from modelyard.artifacts._store import ArtifactStore, open_artifact_store, sha256_hex

__all__ = ["ArtifactStore", "open_artifact_store", "sha256_hex"]
