"""The one place where parts are chosen from settings and wired together; nothing at import time."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from lumen.components.embedding.base import Embedder
from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.components.llm.base import LLM
from lumen.components.vector_store.base import VectorStore
from lumen.ingest.chunking import Chunker
from lumen.ingest.pipeline import Ingestor
from lumen.rag.pipeline import RagPipeline
from lumen.rag.retrieve import Retriever
from lumen.rag.verify import Verifier
from lumen.safety.triage import Triage
from lumen.settings import EmbeddingSettings, LLMSettings, Settings

if TYPE_CHECKING:
    from lumen.clock import Clock
    from lumen.components.kv.base import KVStore
    from lumen.services.container import Services

logger = logging.getLogger(__name__)


def build_embedder(settings: EmbeddingSettings, cache_dir: Path) -> Embedder:
    """The embedding model chosen by settings (the packaged MiniLM unless a folder is given)."""
    from lumen.components.model_files import minilm_dir

    model_dir = settings.model_path or minilm_dir()
    if settings.backend == "onnx":
        from lumen.components.embedding.onnx import OnnxEmbedder

        return OnnxEmbedder(
            model_dir,
            cache_dir,
            batch_size=settings.batch_size,
            max_tokens=settings.max_tokens,
            threads=settings.threads,
        )
    from lumen.components.embedding.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        model_dir, batch_size=settings.batch_size, threads=settings.threads
    )


def build_llm(settings: LLMSettings) -> LLM:
    """The language model chosen by settings."""
    if settings.backend == "openai":
        from lumen.components.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(
            base_url=settings.base_url,
            model=settings.model,
            api_key=settings.api_key.get_secret_value(),
            context_window=settings.context_window,
            timeout_s=settings.timeout_s,
        )
    from lumen.components.llm.llama_cpp import LlamaCppLLM
    from lumen.components.model_files import smollm2_gguf

    return LlamaCppLLM(
        settings.model_path or smollm2_gguf(),
        context_window=settings.context_window,
        threads=settings.threads,
        seed=settings.seed,
    )


class Lumen:
    """Lumen's parts for one settings object, each built on first use; close() releases them."""

    def __init__(
        self, settings: Settings, *, embedder: Embedder | None = None, llm: LLM | None = None
    ) -> None:
        self.settings = settings
        if embedder is not None:  # share a loaded model (tests, the evaluation harness)
            self.__dict__["embedder"] = embedder
        self._llm = llm

    @cached_property
    def store(self) -> VectorStore:
        """The vector store."""
        from lumen.components.vector_store.factory import open_vector_store

        self.settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
        return open_vector_store(self.settings.vector_store, self.settings.paths.data_dir)

    @cached_property
    def embedder(self) -> Embedder:
        """The dense embedding model."""
        return build_embedder(self.settings.embedding, self.settings.paths.data_dir / "models")

    @cached_property
    def bm25(self) -> Bm25Encoder:
        """The BM25 sparse encoder."""
        return Bm25Encoder()

    @cached_property
    def chunker(self) -> Chunker:
        """The token-aware chunker."""
        return Chunker.for_minilm(
            self.settings.ingest.chunk_tokens, self.settings.ingest.overlap_tokens
        )

    @cached_property
    def ingestor(self) -> Ingestor:
        """Writes documents into the store."""
        return Ingestor(self.store, self.embedder, self.bm25, self.chunker)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over the store."""
        r = self.settings.retrieval
        return Retriever(
            self.store,
            self.embedder,
            self.bm25,
            candidates=r.candidates,
            rrf_k=r.rrf_k,
            dense_weight=r.dense_weight,
            bm25_weight=r.bm25_weight,
            neighbours=r.neighbours,
        )

    @cached_property
    def verifier(self) -> Verifier:
        """Lumen's own citation check; fails closed (VerifierModelError) on a bad model file."""
        verify = self.settings.verify
        if verify.model == "lexical":
            return Verifier(self.embedder, self.bm25, threshold=verify.support_threshold)
        from lumen.rag.entailment import EntailmentModel

        return Verifier(
            self.embedder,
            self.bm25,
            entailment=EntailmentModel(verify.model_dir),
            entailment_chunks=verify.entailment_chunks,
        )

    @cached_property
    def pipeline(self) -> RagPipeline:
        """The question path; the LLM loads on the first question."""
        return RagPipeline(
            self.settings, self.retriever, self.verifier, self._load_llm, self.triage
        )

    @cached_property
    def triage(self) -> Triage:
        """The safety triage; fails closed (ComponentError) if its classifier cannot load."""
        from lumen.safety.triage import Triage

        return Triage.load(self.embedder)

    def _load_llm(self) -> LLM:
        if self._llm is None:
            self._llm = build_llm(self.settings.llm)
        return self._llm

    def close(self) -> None:
        """Flush and release the store if it was opened."""
        if "store" in self.__dict__:
            self.store.close()

    def __enter__(self) -> Lumen:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def build_lumen(
    settings: Settings, *, embedder: Embedder | None = None, llm: LLM | None = None
) -> Lumen:
    """Lumen's parts for ``settings`` (nothing is loaded until used)."""
    return Lumen(settings, embedder=embedder, llm=llm)


def pipeline_identity(settings: Settings) -> str:
    """What changes answers to the same question: the model, retrieval and verification."""
    import json

    from lumen import __version__

    llm = settings.llm
    model = str(llm.model_path) if llm.backend == "llama_cpp" else f"{llm.base_url}|{llm.model}"
    return json.dumps(
        {
            "version": __version__,
            "llm": [
                llm.backend,
                model,
                llm.max_answer_tokens,
                llm.max_context_tokens,
                llm.verdict_offsets,
                llm.verdict_first,
            ],
            "retrieval": settings.retrieval.model_dump(mode="json"),
            "verify": settings.verify.model_dump(mode="json"),
            "embedding": settings.embedding.backend,
        },
        sort_keys=True,
    )


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    lumen: Lumen | None = None,
    kv: KVStore | None = None,
) -> Services:
    """The service's parts: database (migrated), keys, KV store, sessions, audit, pipeline."""
    from lumen.clock import SystemClock
    from lumen.components.kv.factory import open_kv
    from lumen.db.session import open_database
    from lumen.observability.metrics import Metrics
    from lumen.security.crypto import keyring_from_settings
    from lumen.security.passwords import PasswordHasher, PasswordPolicy
    from lumen.services.answer_cache import AnswerCache
    from lumen.services.audit import AuditLog
    from lumen.services.container import Services
    from lumen.services.ratelimit import LoginThrottle, RateLimiter
    from lumen.services.sessions import SessionStore

    clock = clock or SystemClock()
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(
        settings.database_url(), echo=settings.database.echo, migrate=settings.database.auto_migrate
    )
    keyring = keyring_from_settings(
        settings.security, settings.paths.data_dir, create=settings.profile == "embedded"
    )
    kv = kv or open_kv(settings.kv, clock)
    auth = settings.auth
    limiter = RateLimiter(kv)
    return Services(
        settings=settings,
        clock=clock,
        database=database,
        keyring=keyring,
        kv=kv,
        sessions=SessionStore(
            kv,
            clock,
            idle_timeout_s=auth.idle_timeout_s,
            absolute_timeout_s=auth.absolute_timeout_s,
        ),
        limiter=limiter,
        throttle=LoginThrottle(
            limiter,
            per_account=auth.login_failures_per_account,
            per_ip=auth.login_failures_per_ip,
            window_s=auth.login_window_s,
        ),
        audit=AuditLog(database, clock),
        hasher=PasswordHasher(),
        policy=PasswordPolicy.from_settings(auth),
        lumen=lumen or build_lumen(settings),
        cache=AnswerCache(
            kv, keyring, ttl_s=settings.api.cache_ttl_s, identity=pipeline_identity(settings)
        ),
        metrics=Metrics(),
        owns_lumen=lumen is None,
    )
