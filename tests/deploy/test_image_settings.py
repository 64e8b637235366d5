"""What the images rely on: secrets as files (LUMEN_X_FILE) and a ready ONNX embedding graph."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from lumen.settings import Settings

from .conftest import DEPLOY


def test_file_references_set_nested_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "db").write_text("postgresql+psycopg://lumen:pw@postgres/lumen\n")
    (tmp_path / "llm").write_text("sk-test")
    monkeypatch.setenv("LUMEN_DATABASE__URL_FILE", str(tmp_path / "db"))
    monkeypatch.setenv("LUMEN_LLM__API_KEY_FILE", str(tmp_path / "llm"))
    # A setting whose own name ends in _file keeps its meaning.
    monkeypatch.setenv("LUMEN_SECURITY__KEY_FILE", str(tmp_path / "keys.json"))
    settings = Settings()
    assert settings.database.url == "postgresql+psycopg://lumen:pw@postgres/lumen"
    assert settings.llm.api_key.get_secret_value() == "sk-test"
    assert settings.security.key_file == tmp_path / "keys.json"


def test_a_direct_variable_wins_over_a_file_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "db").write_text("postgresql+psycopg://from-file/lumen")
    monkeypatch.setenv("LUMEN_DATABASE__URL_FILE", str(tmp_path / "db"))
    monkeypatch.setenv("LUMEN_DATABASE__URL", "sqlite:///direct.db")
    assert Settings().database.url == "sqlite:///direct.db"


def test_a_missing_secret_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMEN_KV__URL_FILE", "/run/secrets/does-not-exist")
    with pytest.raises(
        ValueError, match="cannot read LUMEN_KV__URL_FILE=/run/secrets/does-not-exist"
    ):
        Settings()


def test_unknown_names_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMEN_NOT_A_SETTING_FILE", "/nowhere")
    assert Settings().database.url is None


@pytest.mark.slow
def test_the_image_export_step_gives_the_same_embeddings(tmp_path: Path, embedder: object) -> None:
    """deploy/docker/export_embedding.py's folder, loaded as the server image does (no torch
    at run time), embeds exactly as the embedded default."""
    spec = importlib.util.spec_from_file_location(
        "export_embedding", DEPLOY / "docker" / "export_embedding.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path / "all-MiniLM-L6-v2"
    module.main(folder)
    assert (folder / "model-int8.onnx").is_file() and (folder / "tokenizer.json").is_file()
    assert not (folder / "model.safetensors").exists()

    from lumen.factory import build_embedder
    from lumen.settings import EmbeddingSettings

    shipped = build_embedder(
        EmbeddingSettings(model_path=folder, onnx_path=folder / "model-int8.onnx"),
        tmp_path / "unused-cache",
    )
    assert not (tmp_path / "unused-cache").exists()  # nothing exported at run time
    texts = ["Glaucoma damages the optic nerve.", "Metformin lowers blood sugar."]
    expected = embedder.embed(texts)  # type: ignore[attr-defined]
    got = shipped.embed(texts)
    assert np.allclose(np.asarray(got), np.asarray(expected), atol=1e-5)
    assert shipped.identity == embedder.identity  # type: ignore[attr-defined]
