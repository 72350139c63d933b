"""Every setting is documented and can be set from the environment; secrets stay hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import Settings
from modelyard._settings import find_project_root, load_settings


def test_every_setting_has_a_description() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELYARD_ROOT", str(tmp_path))
    monkeypatch.setenv("MODELYARD_AUTHOR", "dana")
    monkeypatch.setenv("MODELYARD_ARTIFACTS", "s3://bucket/models")
    settings = Settings()
    assert settings.root == tmp_path and settings.author == "dana"
    assert settings.resolved_artifacts() == "s3://bucket/models"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / '.modelyard' / 'registry.db'}"


def test_the_database_password_is_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_DATABASE_URL", "postgresql://me:hunter2@db/registry")
    settings = Settings()
    assert "hunter2" not in repr(settings)
    assert settings.resolved_database_url() == "postgresql://me:hunter2@db/registry"


def test_the_project_is_found_from_a_subfolder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELYARD_ROOT", raising=False)
    (tmp_path / "usecases").mkdir()
    notebooks = tmp_path / "notebooks" / "2026"
    notebooks.mkdir(parents=True)
    monkeypatch.chdir(notebooks)
    assert Settings().root == tmp_path.resolve()
    assert find_project_root(tmp_path / "notebooks") == tmp_path.resolve()


def test_outside_any_project_the_root_is_the_current_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELYARD_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.root == tmp_path.resolve() and not settings.has_project()
    (tmp_path / ".modelyard").mkdir()
    assert Settings().has_project()


def test_the_projects_env_file_is_read_from_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELYARD_ROOT", raising=False)
    monkeypatch.delenv("MODELYARD_DATABASE_URL", raising=False)
    project = tmp_path / "team-yard"
    (project / "usecases").mkdir(parents=True)
    (project / "notebooks").mkdir()
    (project / ".env").write_text("MODELYARD_DATABASE_URL=postgresql://team@db/registry\n")
    monkeypatch.chdir(project / "notebooks")
    assert load_settings().resolved_database_url() == "postgresql://team@db/registry"
    monkeypatch.chdir(tmp_path)
    assert load_settings(project).resolved_database_url() == "postgresql://team@db/registry"
    assert load_settings(project, database_url="sqlite:///x.db").resolved_database_url() == "sqlite:///x.db"
    monkeypatch.setenv("MODELYARD_DATABASE_URL", "postgresql://from@env/db")  # the environment beats the file
    assert load_settings(project).resolved_database_url() == "postgresql://from@env/db"
