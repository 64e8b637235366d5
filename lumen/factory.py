"""The one place where parts are chosen from settings and wired together; nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
    from lumen.components.storage.base import BlobStore
    from lumen.db.session import Database
    from lumen.jobs.runner import JobRunner
    from lumen.observability.metrics import Metrics
    from lumen.rag.qtypes import QuestionTypes
    from lumen.services.audit import AuditLog
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
            graph_path=settings.onnx_path,
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
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        llm_loader: Callable[[], LLM] | None = None,
    ) -> None:
        self.settings = settings
        if embedder is not None:  # share a loaded model (tests, the evaluation harness)
            self.__dict__["embedder"] = embedder
        self._llm = llm
        self._llm_loader = llm_loader

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
        reranker = None
        if r.rerank:
            from lumen.rag.rerank import Reranker

            reranker = Reranker(threads=self.settings.embedding.threads)
        speller = None
        if r.spelling:
            from lumen.rag.spelling import IndexSpelling

            speller = IndexSpelling(self.store)
        headings = None
        if r.heading_match:
            from lumen.rag.headings import HeadingMatcher

            headings = HeadingMatcher(
                self.embedder,
                rank_weight=r.heading_rank_weight,
                question_types=self._question_types() if r.heading_type_weight > 0 else None,
                type_weight=r.heading_type_weight,
                title_weight=r.heading_title_weight,
                subjects_first=r.heading_subjects_first,
            )
        return Retriever(
            self.store,
            self.embedder,
            self.bm25,
            candidates=r.candidates,
            rrf_k=r.rrf_k,
            dense_weight=r.dense_weight,
            bm25_weight=r.bm25_weight,
            neighbours=r.neighbours,
            reranker=reranker,
            rerank_candidates=r.rerank_candidates,
            speller=speller,
            headings=headings,
            heading_candidates=r.heading_candidates,
            open_section=r.open_section,
        )

    def _question_types(self) -> QuestionTypes:
        """The shipped question-type model, checked against this embedder (fails closed)."""
        from lumen.rag.qtypes import QuestionTypes, QuestionTypesError

        model = QuestionTypes.load()
        if not model.accepts(self.embedder.identity):
            raise QuestionTypesError(
                f"the question-type model was trained on {model.embedder_identity} vectors, "
                f"not {self.embedder.identity}; set retrieval.heading_type_weight to 0 or "
                "retrain it with 'lumen lab retrieval qtypes'"
            )
        return model

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
            loader = self._llm_loader or (lambda: build_llm(self.settings.llm))
            self._llm = loader()
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
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
    llm_loader: Callable[[], LLM] | None = None,
) -> Lumen:
    """Lumen's parts for ``settings`` (nothing is loaded until used).

    ``embedder`` and ``llm`` share parts already loaded; ``llm_loader`` builds the LLM on
    the first question instead of ``settings.llm`` (the evaluation harness's choice).
    """
    return Lumen(settings, embedder=embedder, llm=llm, llm_loader=llm_loader)


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


def build_storage(settings: Settings) -> BlobStore:
    """Where uploaded files are kept: ``<data_dir>/uploads`` or an S3-compatible bucket."""
    if settings.uploads.storage == "s3":
        from lumen.components.storage.s3 import S3BlobStore

        return S3BlobStore(settings.uploads)
    from lumen.components.storage.local import LocalBlobStore

    return LocalBlobStore(settings.paths.data_dir / "uploads")


def build_job_runner(settings: Settings) -> JobRunner:
    """The in-process pool (embedded default) or Celery (``jobs.backend=celery``)."""
    if settings.jobs.backend == "celery":
        from lumen.jobs.runner import CeleryRunner

        return CeleryRunner(settings.jobs)
    from lumen.jobs.runner import InProcessRunner

    return InProcessRunner(settings.jobs)


def check_multi_process(settings: Settings, processes: int) -> None:
    """Refuse settings that cannot be shared by ``processes`` API processes.

    Raises:
        InputError: the embedded index or the in-process KV store with more than one process.

    """
    from lumen.errors import InputError

    if processes <= 1:
        return
    if settings.vector_store.backend in ("edge", "local"):
        raise InputError(
            f"the embedded index (vector_store.backend={settings.vector_store.backend}) can be "
            "opened by one process only: with several workers use a Qdrant server "
            "(vector_store.backend=server) or run 'lumen index serve' and set "
            "vector_store.backend=remote"
        )
    if settings.kv.backend == "memory":
        raise InputError(
            "sessions, rate limits and the cache must be shared by the workers: "
            "set kv.backend=redis"
        )


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    lumen: Lumen | None = None,
    kv: KVStore | None = None,
    jobs_runner: bool = True,
) -> Services:
    """The service's parts: database (migrated), keys, KV store, sessions, audit, pipeline.

    Also the upload storage and, unless ``jobs_runner`` is false (Celery workers), the jobs.
    """
    from lumen.clock import SystemClock
    from lumen.components.kv.factory import open_kv
    from lumen.db.session import open_database
    from lumen.observability.metrics import Metrics
    from lumen.security.crypto import keyring_from_settings
    from lumen.security.passwords import PasswordHasher, PasswordPolicy
    from lumen.services.answer_cache import AnswerCache
    from lumen.services.audit import AuditLog
    from lumen.services.container import Services
    from lumen.services.model_queue import ModelQueue
    from lumen.services.ratelimit import LoginThrottle, RateLimiter
    from lumen.services.sessions import SessionStore

    clock = clock or SystemClock()
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(
        settings.database_url(),
        echo=settings.database.echo,
        migrate=settings.database.auto_migrate,
        pool_timeout_s=settings.database.pool_timeout_s,
    )
    keyring = keyring_from_settings(
        settings.security, settings.paths.data_dir, create=settings.profile == "embedded"
    )
    kv = kv or open_kv(settings.kv, clock)
    auth = settings.auth
    limiter = RateLimiter(kv)
    metrics = Metrics()
    audit = AuditLog(database, clock)
    _instrument(metrics, database, audit, clock, settings)
    services = Services(
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
            delay_s=auth.login_delay_s,
            max_delay_s=auth.login_max_delay_s,
        ),
        audit=audit,
        hasher=PasswordHasher(),
        policy=PasswordPolicy.from_settings(auth),
        lumen=lumen or build_lumen(settings),
        cache=AnswerCache(
            kv, keyring, ttl_s=settings.api.cache_ttl_s, identity=pipeline_identity(settings)
        ),
        metrics=metrics,
        model_queue=ModelQueue(
            max_parallel=settings.llm.max_parallel,
            max_queue=settings.llm.max_queue,
            wait_timeout_s=settings.llm.queue_timeout_s,
            on_depth=metrics.llm_queue,
            on_refused=metrics.llm_refusal,
        ),
        owns_lumen=lumen is None,
        storage=build_storage(settings),
    )
    if jobs_runner:
        runner = build_job_runner(settings)
        services.jobs = runner
        bind = getattr(runner, "bind", None)
        if callable(bind):
            bind(services)
    return services


def _instrument(
    metrics: Metrics, database: Database, audit: AuditLog, clock: Clock, settings: Settings
) -> None:
    """Query timing and the scrape-time collectors (usage, audit chain) on ``metrics``."""
    from lumen.observability.collectors import AuditChainCollector, UsageCollector
    from lumen.observability.db import instrument_engine

    instrument_engine(database.engine, metrics.db_query_seconds)
    observability = settings.observability
    metrics.register(UsageCollector(database, clock, ttl_s=observability.usage_refresh_s))
    if observability.audit_check_interval_s > 0:
        metrics.register(
            AuditChainCollector(audit, clock, interval_s=observability.audit_check_interval_s)
        )
