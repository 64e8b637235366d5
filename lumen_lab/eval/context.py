"""What every task of a run shares: options, settings, models and the indexes it searches."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress

from lumen.documents import Document
from lumen.errors import InputError
from lumen.settings import LLMSettings, Settings
from lumen_lab.eval.registry import CorpusSpec, TaskSpec
from lumen_lab.eval.schema import IndexInfo

if TYPE_CHECKING:
    from lumen.components.embedding.base import Embedder
    from lumen.components.llm.base import LLM
    from lumen.factory import Lumen
    from lumen.rag.answer import Answer
    from lumen.rag.pipeline import AskOptions, RagPipeline
    from lumen.rag.retrieve import RetrievalResult, RetrieverMode
    from lumen_lab.eval.scoring import LoglikelihoodScorer

logger = logging.getLogger(__name__)

INDEX_MARKER = "lumen-eval-index.json"
MODES = ("closed-book", "rag", "gold-context")
RETRIEVERS = ("dense", "bm25", "hybrid")
SCORINGS = ("loglikelihood", "generate")


@dataclass(frozen=True)
class RunOptions:
    """What the command line (or the caller) chose for a run."""

    out_dir: Path
    data: Path | None = None
    limit: int | None = None
    modes: tuple[str, ...] = ()
    retrievers: tuple[str, ...] = ()
    scoring: str | None = None
    k: int | None = None
    collections: tuple[str, ...] = ()
    seed: int = 0
    index_dir: Path | None = None
    concurrency: int = 1
    resume: bool = False
    overwrite: bool = False
    plots: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for mode in self.modes:
            if mode not in MODES:
                raise InputError(f"unknown mode {mode!r}: use {', '.join(MODES)}")
        for retriever in self.retrievers:
            if retriever not in RETRIEVERS:
                raise InputError(f"unknown retriever {retriever!r}: use {', '.join(RETRIEVERS)}")
        if self.scoring is not None and self.scoring not in SCORINGS:
            raise InputError(f"unknown scoring {self.scoring!r}: use {', '.join(SCORINGS)}")
        if self.limit is not None and self.limit < 1:
            raise InputError("--limit must be at least 1")
        if self.concurrency < 1:
            raise InputError("--concurrency must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (recorded in the results)."""
        data: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            data[name] = value
        return data


def describe_llm(settings: LLMSettings) -> str:
    """The identity the configured LLM will have, without loading it."""
    if settings.backend == "openai":
        return f"openai:{settings.base_url}#{settings.model}"
    from lumen.components.model_files import SMOLLM2_GGUF

    name = settings.model_path.name if settings.model_path else SMOLLM2_GGUF
    return f"llama_cpp:{name}"


class IndexHandle:
    """An index and the Lumen parts over it; embedded stores are searched one call at a time."""

    def __init__(
        self, lumen: Lumen, info: IndexInfo, pipeline: RagPipeline, *, serialise: bool
    ) -> None:
        self.lumen = lumen
        self.info = info
        self.pipeline = pipeline
        self._lock: threading.Lock | None = threading.Lock() if serialise else None

    def retrieve(
        self, question: str, *, collections: Sequence[str], k: int, mode: RetrieverMode
    ) -> RetrievalResult:
        """Retriever.retrieve under the store's lock."""
        if self._lock is None:
            return self.lumen.retriever.retrieve(question, collections=collections, k=k, mode=mode)
        with self._lock:
            return self.lumen.retriever.retrieve(question, collections=collections, k=k, mode=mode)

    def ask(self, question: str, options: AskOptions) -> Answer:
        """RagPipeline.ask, under the store's lock for embedded stores."""
        if self._lock is None:
            return self.pipeline.ask(question, options)
        with self._lock:
            return self.pipeline.ask(question, options)


def _corpus_key(corpus: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(list(corpus), sort_keys=True).encode()).hexdigest()


def _transform(document: Document, entry: dict[str, Any]) -> Document:
    """Apply a corpus entry's ``drop_sections`` and ``retitle`` to a loaded document."""
    dropped = set(entry.get("drop_sections", ()))
    sections = tuple(s for s in document.sections if s.title not in dropped)
    title = document.title
    if entry.get("retitle"):
        from lumen.textutil import split_sentences

        first = next((s.text for s in sections if s.text.strip()), "")
        sentences = split_sentences(first) if first else []
        title = sentences[0] if sentences else "Untitled"
        if len(title) > 120:
            title = title[:117].rsplit(" ", 1)[0] + "..."
    if title == document.title and sections == document.sections:
        return document
    return dataclasses.replace(document, title=title, sections=sections)


def _describe(corpus: Sequence[dict[str, Any]], include_questions: bool | None) -> str:
    parts = [f"built by the harness from {', '.join(e['loader'] for e in corpus)}"]
    if include_questions is False:
        parts.append("questions are not in the indexed text")
    if any(e.get("retitle") for e in corpus):
        parts.append("documents titled by their first sentence (not their title-question)")
    dropped = sorted({s for e in corpus for s in e.get("drop_sections", ())})
    if dropped:
        parts.append(f"sections left out: {', '.join(dropped)}")
    return "; ".join(parts)


class EvalContext:
    """Settings, options, the shared models (loaded on first use) and the indexes of a run."""

    def __init__(
        self,
        settings: Settings,
        options: RunOptions,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        console: Console | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.console = console
        #: The run's progress display (set by the runner while it runs).
        self.progress: Progress | None = None
        self._embedder = embedder
        self._llm = llm
        self._scorer: LoglikelihoodScorer | None = None
        self._scorer_checked = False
        self._indexes: dict[str, IndexHandle] = {}
        self._lock = threading.RLock()

    # --- models ------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The dense embedding model (shared by every index of the run)."""
        with self._lock:
            if self._embedder is None:
                from lumen.factory import build_embedder

                self._embedder = build_embedder(
                    self.settings.embedding, self.settings.paths.data_dir / "models"
                )
            return self._embedder

    @property
    def llm(self) -> LLM:
        """The language model."""
        with self._lock:
            if self._llm is None:
                from lumen.factory import build_llm

                self._llm = build_llm(self.settings.llm)
            return self._llm

    @property
    def llm_identity(self) -> str:
        """The LLM's identity (from settings when it has not been loaded)."""
        if self._llm is not None:
            return self._llm.identity
        return describe_llm(self.settings.llm)

    @property
    def embedder_identity(self) -> str | None:
        """The embedder's identity, if it was loaded."""
        return self._embedder.identity if self._embedder is not None else None

    def scorer(self) -> LoglikelihoodScorer | None:
        """The log-likelihood scorer of the LLM's backend, or None where there is none."""
        with self._lock:
            if not self._scorer_checked:
                from lumen_lab.eval.scoring import scorer_for

                self._scorer = scorer_for(self.llm)
                self._scorer_checked = True
            return self._scorer

    # --- paths ---------------------------------------------------------------------------------

    def resolve(self, relative: str | Path) -> Path:
        """A dataset path: absolute as given, else under ``paths.sources_dir``."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.settings.paths.sources_dir / path

    # --- indexes -------------------------------------------------------------------------------

    def index(self, spec: TaskSpec, data_path: Path) -> IndexHandle:
        """The index a task's RAG or retrieval conditions search.

        A task that declares a corpus gets an index of its own, built (incrementally) under
        ``OUT/index/<corpus hash>`` or in ``--index-dir``; other tasks search the configured
        Lumen index (``--index-dir`` or ``paths.data_dir``).
        """
        if spec.corpus is None:
            path = self.options.index_dir or self.settings.paths.data_dir
            if not path.is_dir():
                raise InputError(
                    f"no Lumen index at {path}: run 'lumen ingest' first or pass --index-dir"
                )
            return self._open(str(path), path, spec, None, data_path)
        corpus = [self._corpus_entry(c, data_path) for c in spec.corpus]
        key = _corpus_key(corpus)
        path = self.options.index_dir or self.options.out_dir / "index" / key[:12]
        return self._open(key, path, spec, corpus, data_path)

    def _corpus_entry(self, corpus: CorpusSpec, data_path: Path) -> dict[str, Any]:
        path = self.resolve(corpus.path) if corpus.path is not None else data_path
        entry: dict[str, Any] = {
            "loader": corpus.loader,
            "path": str(path.resolve()),
            "collection": corpus.collection,
            "options": dict(corpus.options),
        }
        if corpus.retitle:
            entry["retitle"] = True
        if corpus.drop_sections:
            entry["drop_sections"] = list(corpus.drop_sections)
        return entry

    def _open(
        self,
        key: str,
        path: Path,
        spec: TaskSpec,
        corpus: list[dict[str, Any]] | None,
        data_path: Path,
    ) -> IndexHandle:
        with self._lock:
            handle = self._indexes.get(key)
            if handle is None:
                handle = self._build(path, corpus, spec)
                self._indexes[key] = handle
        collections = self.collections(spec)
        existing = set(handle.lumen.store.collections())
        missing = [c for c in collections if c not in existing]
        if missing:
            hint = (
                f"run 'lumen ingest' into {missing[0]!r} or pass --index-dir"
                if corpus is None
                else "the corpus produced no documents"
            )
            raise InputError(f"collection {missing[0]!r} is not indexed in {path} ({hint})")
        return handle

    def collections(self, spec: TaskSpec) -> tuple[str, ...]:
        """Collections searched: --collection, else the corpus's, else the task's."""
        if self.options.collections:
            return self.options.collections
        if spec.corpus:
            return tuple(dict.fromkeys(c.collection for c in spec.corpus))
        return tuple(spec.collections)

    def _settings_for(self, path: Path, include_questions: bool | None) -> Settings:
        paths = self.settings.paths.model_copy(update={"data_dir": path})
        update: dict[str, Any] = {"paths": paths}
        if include_questions is not None:
            update["ingest"] = self.settings.ingest.model_copy(
                update={"medquad_include_questions": include_questions}
            )
        return self.settings.model_copy(update=update)

    def _build(
        self, path: Path, corpus: list[dict[str, Any]] | None, spec: TaskSpec
    ) -> IndexHandle:
        from lumen.factory import build_lumen

        include_questions: bool | None = None
        for entry in corpus or []:
            if "include_questions" in entry["options"]:
                include_questions = bool(entry["options"]["include_questions"])
        marker = path / INDEX_MARKER
        owned = corpus is not None
        note = ""
        if corpus is None:
            where = "--index-dir" if self.options.index_dir is not None else "paths.data_dir"
            note = f"an existing Lumen index ({where}), searched as found"
        elif self.options.index_dir is not None and path.exists() and any(path.iterdir()):
            if not marker.is_file():
                owned = False
                note = (
                    f"--index-dir {path} was not built by the harness: searched as found, "
                    "its corpus and question policy are not checked"
                )
            else:
                recorded = json.loads(marker.read_text(encoding="utf-8"))
                if recorded.get("corpus") != corpus:
                    raise InputError(
                        f"--index-dir {path} holds another corpus ({recorded.get('corpus')}); "
                        "use another folder"
                    )
        settings = self._settings_for(path, include_questions)
        lumen = build_lumen(settings, embedder=self.embedder, llm_loader=lambda: self.llm)
        info = IndexInfo(
            path=str(path),
            owned=owned,
            corpus=corpus or [],
            collections=list(self.collections(spec)),
            include_questions=include_questions,
            note=note,
        )
        if owned and corpus is not None:
            self._ingest(lumen, corpus, info)
            marker.write_text(json.dumps({"corpus": corpus}, indent=2), encoding="utf-8")
            if not note:
                info.note = _describe(corpus, include_questions)
        self._index_stats(lumen, info)
        serialise = settings.vector_store.backend in ("edge", "local")
        return IndexHandle(lumen, info, lumen.pipeline, serialise=serialise)

    def _ingest(self, lumen: Lumen, corpus: list[dict[str, Any]], info: IndexInfo) -> None:
        from lumen.ingest.loaders import get_loader  # type: ignore[attr-defined]

        started = time.perf_counter()
        problems: list[str] = []

        def report(file: Path, message: str) -> None:
            problems.append(f"{file}: {message}")
            logger.warning("skipped %s: %s", file, message)

        for entry in corpus:
            loader = get_loader(entry["loader"], **entry["options"])
            documents = [
                _transform(document, entry)
                for document in loader.load(
                    Path(entry["path"]), collection=entry["collection"], report=report
                )
            ]
            logger.info("indexing %s documents into %s", len(documents), info.path)
            result = self._ingest_with_progress(lumen, documents, entry)
            info.added += result.added + result.updated
            info.unchanged += result.unchanged
        info.build_seconds = round(time.perf_counter() - started, 2)
        if problems:
            info.note = f"{len(problems)} file(s) skipped while indexing, first: {problems[0]}"

    def _ingest_with_progress(
        self, lumen: Lumen, documents: list[Any], entry: dict[str, Any]
    ) -> Any:
        bar = self.progress
        if bar is None:
            return lumen.ingestor.ingest(documents, collection=entry["collection"], vocabulary=True)
        task = bar.add_task(f"indexing {entry['loader']} (chunks)", total=None)
        return lumen.ingestor.ingest(
            documents,
            collection=entry["collection"],
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            vocabulary=True,  # as `lumen ingest` does: spelling correction reads it
        )

    @staticmethod
    def _index_stats(lumen: Lumen, info: IndexInfo) -> None:
        try:
            names = set(lumen.store.collections())
            stats = [lumen.store.stats(c) for c in info.collections if c in names]
        except Exception as exc:  # the stats are informative only
            logger.warning("cannot read index statistics: %s", exc)
            return
        info.documents = sum(s.documents for s in stats)
        info.chunks = sum(s.points for s in stats)

    def close(self) -> None:
        """Release the indexes."""
        with self._lock:
            for handle in self._indexes.values():
                handle.lumen.close()
            self._indexes.clear()
