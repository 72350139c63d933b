"""One typed settings object, read from ``MODELYARD_*`` environment variables and ``.env``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "find_project_root", "load_settings"]

PROJECT_MARKERS = ("usecases", ".modelyard")
"""Folders that make a folder a modelyard project (the default places of the specs and the store)."""


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` (the current one) upward, that holds ``usecases/`` or
    ``.modelyard/``; ``start`` itself when none does. As git finds its repository: a notebook in
    ``project/notebooks/`` opens the project's yard, not a new empty one beside the notebook."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_dir() for marker in PROJECT_MARKERS):
            return folder
    return here


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER", "unknown")


def load_settings(root: Path | None = None, **overrides: object) -> Settings:
    """The settings of the project in ``root`` (else ``MODELYARD_ROOT``, else :func:`find_project_root`):
    ``MODELYARD_*`` variables, then the ``.env`` files of the current folder and of the project
    folder (the project's wins), then ``overrides``. So a command run from anywhere with ``--root``,
    or from a subfolder, reads the project's ``.env`` (where ``modelyard demo --team-database`` puts
    the registry's URL)."""
    if root is None:
        from_env = os.environ.get("MODELYARD_ROOT")
        root = Path(from_env) if from_env else find_project_root()
    root = root.expanduser().resolve()
    return Settings(_env_file=(".env", root / ".env"), root=root, **overrides)  # type: ignore[call-arg]


class Settings(BaseSettings):
    """Where a yard keeps its things. Every field can be set as ``MODELYARD_<FIELD>``.

    Relative paths are taken from ``root``: the project folder, by default the nearest folder from
    the current one upward that holds ``usecases/`` or ``.modelyard/`` (see :func:`find_project_root`).
    """

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", env_file=".env", extra="ignore")

    root: Path = Field(default_factory=find_project_root, description="The project folder that holds usecases/.")
    home: Path = Field(default=Path(".modelyard"), description="Folder for the SQLite store and local artifacts.")
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the registry database; a SQLite file under home/ when unset.",
    )
    artifacts: str | None = Field(
        default=None,
        description="Artifact store location: a folder or an fsspec URL; home/artifacts when unset.",
    )
    usecases: Path = Field(default=Path("usecases"), description="Folder of use-case YAML specs.")
    author: str = Field(default_factory=_default_author, description="Who registers and promotes.")
    sklearn_compiled: bool = Field(
        default=True,
        description=(
            "Score small batches of scikit-learn HistGradientBoosting pipelines through their compiled "
            "form (the same scores, bit for bit); false: always scikit-learn's own predict."
        ),
    )

    def has_project(self) -> bool:
        """Whether there is a yard to open: the specs folder, the home folder, or a database URL."""
        return self.database_url is not None or self.resolved_usecases().is_dir() or self.resolved_home().is_dir()

    def resolved_home(self) -> Path:
        return self.home if self.home.is_absolute() else self.root / self.home

    def resolved_usecases(self) -> Path:
        return self.usecases if self.usecases.is_absolute() else self.root / self.usecases

    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.resolved_home() / 'registry.db'}"

    def resolved_artifacts(self) -> str:
        if self.artifacts:
            if "://" in self.artifacts or Path(self.artifacts).is_absolute():
                return self.artifacts
            return str(self.root / self.artifacts)
        return str(self.resolved_home() / "artifacts")
