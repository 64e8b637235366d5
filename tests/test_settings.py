from __future__ import annotations

from pathlib import Path

import pytest

from lumen.settings import load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("LUMEN_PROFILE", "LUMEN_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _backends(**overrides: object) -> tuple[str, str, str, str]:
    settings = load_settings(**overrides)
    return (
        settings.profile,
        settings.vector_store.backend,
        settings.llm.backend,
        settings.kv.backend,
    )


def test_embedded_profile_by_default(clean_env: pytest.MonkeyPatch) -> None:
    assert _backends() == ("embedded", "edge", "llama_cpp", "memory")


def test_profile_from_the_environment_switches_backends(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LUMEN_PROFILE", "production")
    assert _backends() == ("production", "server", "openai", "redis")


def test_profile_from_code_switches_backends(clean_env: pytest.MonkeyPatch) -> None:
    assert _backends(profile="production") == ("production", "server", "openai", "redis")


def test_profile_from_the_settings_file_switches_backends(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "lumen.yaml"
    path.write_text("profile: production\nkv:\n  backend: memory\n", encoding="utf-8")
    clean_env.setenv("LUMEN_SETTINGS_FILE", str(path))
    # The file's own explicit choice still wins over the profile's defaults.
    assert _backends() == ("production", "server", "openai", "memory")


def test_environment_profile_wins_over_the_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "lumen.yaml"
    path.write_text("profile: production\n", encoding="utf-8")
    clean_env.setenv("LUMEN_SETTINGS_FILE", str(path))
    clean_env.setenv("LUMEN_PROFILE", "embedded")
    assert _backends() == ("embedded", "edge", "llama_cpp", "memory")
