"""Shared fixtures: real models loaded once per session, a fresh data directory per test."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def _sources_dir() -> Path:
    configured = os.environ.get("LUMEN_PATHS__SOURCES_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _logging_state_restored() -> Iterator[None]:
    """Every test leaves logging as it found it: levels, handlers, propagation.

    The service's set-up (``lumen serve``, the observability tests) reconfigures the root and
    uvicorn's loggers; without this, a later test would log at INFO into a closed stream.
    """
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    yield
    for logger, level, handlers, propagate, disabled in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared datasets (skips the test where they are absent)."""
    path = _sources_dir()
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the ONNX export of MiniLM is cached: once per machine, like a user's data dir."""
    path = Path(os.environ.get("LUMEN_TEST_MODEL_CACHE", Path.home() / ".cache" / "lumen-test"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def embedder(model_cache: Path):  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 (int8 ONNX backend, the embedded default)."""
    from lumen.components.embedding.onnx import OnnxEmbedder
    from lumen.components.model_files import minilm_dir

    return OnnxEmbedder(minilm_dir(), model_cache)


@pytest.fixture(scope="session")
def llm():  # type: ignore[no-untyped-def]
    """The real SmolLM2-135M-Instruct in llama.cpp."""
    from lumen.components.llm.llama_cpp import LlamaCppLLM
    from lumen.components.model_files import smollm2_gguf

    return LlamaCppLLM(smollm2_gguf(), context_window=2048)


@pytest.fixture
def settings_env(
    tmp_path: Path, shared_data: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """LUMEN_* variables pointing at a fresh data directory; returns that directory."""
    data_dir = tmp_path / "lumen-data"
    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(data_dir))
    monkeypatch.setenv("LUMEN_PATHS__SOURCES_DIR", str(shared_data))
    monkeypatch.delenv("LUMEN_SETTINGS_FILE", raising=False)
    monkeypatch.delenv("LUMEN_PROFILE", raising=False)
    # Reuse the session's ONNX export instead of exporting again per test.
    models = data_dir / "models"
    models.parent.mkdir(parents=True, exist_ok=True)
    models.symlink_to(model_cache, target_is_directory=True)
    return data_dir


@pytest.fixture
def lumen_app(settings_env: Path, embedder, llm) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Lumen's parts on the embedded defaults in a fresh data directory (models shared)."""
    from lumen.factory import build_lumen
    from lumen.settings import load_settings

    with build_lumen(load_settings(), embedder=embedder, llm=llm) as lumen:
        yield lumen


@pytest.fixture(scope="session")
def verifier_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(PyTorch folder, int8 ONNX folder) of a seeded MiniLM cross-encoder.

    The head is random (seeded, scaled so that logits spread over several units): the tests
    using it check the export, the loading, the checksums and the Verifier's plumbing, not
    what a trained model knows.
    """
    pytest.importorskip("transformers")
    import torch

    from lumen.components.model_files import minilm_dir
    from lumen.rag.entailment import TOKENIZER_FILE
    from lumen_lab.verifier.export import export_int8, write_manifest
    from lumen_lab.verifier.train import build_model

    root = tmp_path_factory.mktemp("verifier")
    torch.manual_seed(0)
    model = build_model(minilm_dir())
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 1.0)
    final = root / "final"
    model.save_pretrained(str(final))
    shutil.copyfile(minilm_dir() / TOKENIZER_FILE, final / TOKENIZER_FILE)
    out = root / "export"
    export_int8(final, out)
    write_manifest(out, threshold=0.5, max_tokens=256, training={"test": True}, metrics={})
    return final, out
