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


def test_cors_origins_are_named_sites(clean_env: pytest.MonkeyPatch) -> None:
    """The API sends cookies to allowed origins: a wildcard would let any site use them."""
    from pydantic import ValidationError

    allowed = load_settings(api={"cors_origins": ["http://localhost:3000"]})
    assert allowed.api.cors_origins == ["http://localhost:3000"]
    for origins in (["*"], ["https://*.example.org"], ["localhost:3000"]):
        with pytest.raises(ValidationError, match="is not an origin"):
            load_settings(api={"cors_origins": origins})
    clean_env.setenv("LUMEN_API__CORS_ORIGINS", '["*"]')
    with pytest.raises(ValidationError, match="name each site"):
        load_settings()
