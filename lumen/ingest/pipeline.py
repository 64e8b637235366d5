"""Documents → chunks → vectors → the store, incrementally.

A document is rewritten only when its content hash changed or an earlier run left it partly
written; unchanged documents cost one hash comparison. Chunks are written in batches, so an
interrupted run leaves whole or detectably partial documents, and the next run completes them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lumen.components.embedding.base import Embedder
from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.components.vector_store.base import VectorStore
from lumen.documents import Chunk, Document
from lumen.errors import ComponentError
from lumen.ingest.chunking import Chunker
from lumen.ingest.vocabulary import VOCABULARY_KEY, document_frequencies

logger = logging.getLogger(__name__)

EMBEDDING_KEY = "embedding_model"
SPARSE_KEY = "sparse_encoder"
GENERATION_KEY = "generation:{collection}"


def index_generation(store: VectorStore, collections: Iterable[str]) -> str:
    """A token that changes whenever any of ``collections`` gains, changes or loses documents.

    Answers cached under one generation are not served after a re-ingest.
    """
    return "|".join(
        f"{name}={store.get_metadata(GENERATION_KEY.format(collection=name)) or ''}"
        for name in sorted(set(collections))
    )


#: ``(done, total)`` chunks written so far; called after every batch.
ProgressCallback = Callable[[int, int], None]


@dataclass
class IngestReport:
    """What one ingest run did."""

    collection: str
    source: str | None
    documents: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        """Write throughput (embedding included)."""
        return self.chunks_written / self.seconds if self.seconds else 0.0


class Ingestor:
    """Writes documents into a collection of the vector store."""

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        bm25: Bm25Encoder,
        chunker: Chunker,
        *,
        batch_size: int = 256,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._bm25 = bm25
        self._chunker = chunker
        self._batch_size = batch_size

    def check_embedding_model(self) -> None:
        """Refuse to mix vectors of two embedding models in one index."""
        stored = self._store.get_metadata(EMBEDDING_KEY)
        if stored is None:
            self._store.set_metadata(EMBEDDING_KEY, self._embedder.identity)
        elif stored != self._embedder.identity:
            raise ComponentError(
                f"the index was built with the embedding model {stored!r} but "
                f"{self._embedder.identity!r} is configured: re-index into a new data directory"
            )
        self._check_sparse_encoder(legacy=stored is not None)

    def _check_sparse_encoder(self, *, legacy: bool) -> None:
        """Refuse to mix BM25 terms of two tokenisers; an index from before the key is kept."""
        stored = self._store.get_metadata(SPARSE_KEY)
        if stored is None:
            if legacy:
                logger.warning(
                    "the index predates sparse-encoder records; a few stems differ from %s: "
                    "re-index into a new data directory for exact BM25 matches",
                    self._bm25.identity,
                )
            self._store.set_metadata(SPARSE_KEY, self._bm25.identity)
        elif stored != self._bm25.identity:
            raise ComponentError(
                f"the index's BM25 terms were made by {stored!r} but {self._bm25.identity!r} "
                "is configured: re-index into a new data directory"
            )

    def ingest(
        self,
        documents: Iterable[Document],
        *,
        collection: str,
        source: str | None = None,
        progress: ProgressCallback | None = None,
        vocabulary: bool = False,
    ) -> IngestReport:
        """Write new and changed documents; ``source`` overrides the loader's source name.

        With ``vocabulary``, ``documents`` are whole sources (a loader's full read, not an upload),
        and each source's word counts are recorded for spelling correction
        (:mod:`lumen.ingest.vocabulary`).
        """
        started = time.perf_counter()
        self.check_embedding_model()
        self._store.ensure_collection(collection, self._embedder.dim)
        report = IngestReport(collection=collection, source=source)

        docs = [self._retarget(doc, collection, source) for doc in documents]
        report.documents = len(docs)
        sources = {doc.source for doc in docs}
        known = {
            stored.doc_id: stored
            for name in sources
            for stored in self._store.documents(collection, name)
        }
        pending: list[Document] = []
        for doc in docs:
            stored = known.get(doc.id)
            if stored is not None and stored.complete and stored.doc_hash == doc.content_hash:
                report.unchanged += 1
                continue
            if stored is None:
                report.added += 1
            else:
                report.updated += 1
            pending.append(doc)

        chunks: list[Chunk] = []
        replaced: list[str] = []
        for doc in pending:
            chunks.extend(self._chunker.chunk(doc))
            if doc.id in known:
                replaced.append(doc.id)
        if replaced:
            self._store.delete(collection, doc_ids=replaced)
        total = len(chunks)
        if progress is not None:
            progress(0, total)
        for start in range(0, total, self._batch_size):
            batch = chunks[start : start + self._batch_size]
            texts = [chunk.embed_text for chunk in batch]
            dense = self._embedder.embed(texts)
            sparse = [self._bm25.encode_document(text) for text in texts]
            self._store.upsert(collection, batch, dense, sparse)
            report.chunks_written += len(batch)
            if progress is not None:
                progress(report.chunks_written, total)
        if pending:
            self._mark_changed(collection)
        if vocabulary:
            for name in sorted(sources):
                self._record_vocabulary(collection, name, [d for d in docs if d.source == name])
        report.seconds = time.perf_counter() - started
        logger.info(
            "ingested into %s: %s added, %s updated, %s unchanged, %s chunks in %.1f s",
            collection,
            report.added,
            report.updated,
            report.unchanged,
            report.chunks_written,
            report.seconds,
        )
        return report

    def reembed(self, collection: str, *, progress: ProgressCallback | None = None) -> int:
        """Re-embed every chunk of ``collection`` with the configured model.

        For a change of embedding model of the same size; returns the chunks rewritten. Safe
        to re-run.
        """
        documents = list(self._store.documents(collection))
        total = sum(d.chunks_found for d in documents)
        done = 0
        if progress is not None:
            progress(0, total)
        for stored in documents:
            chunks = self._store.document_chunks(collection, stored.doc_id)
            for start in range(0, len(chunks), self._batch_size):
                batch = chunks[start : start + self._batch_size]
                texts = [chunk.embed_text for chunk in batch]
                dense = self._embedder.embed(texts)
                sparse = [self._bm25.encode_document(text) for text in texts]
                self._store.upsert(collection, batch, dense, sparse)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
        self._mark_changed(collection)
        return done

    def adopt_embedding_model(self) -> None:
        """Record the configured model as the index's (once every collection is re-embedded)."""
        self._store.set_metadata(EMBEDDING_KEY, self._embedder.identity)

    def delete_source(self, collection: str, source: str) -> int:
        """Remove every chunk of ``source`` from ``collection``; returns the documents removed."""
        removed = sum(1 for _ in self._store.documents(collection, source))
        self._store.delete(collection, source=source)
        self._record_vocabulary(collection, source, [])
        if removed:
            self._mark_changed(collection)
        return removed

    def _record_vocabulary(self, collection: str, source: str, documents: list[Document]) -> None:
        """Record ``source``'s word counts in ``collection`` (none: drop them) if they changed."""
        key = VOCABULARY_KEY.format(collection=collection)
        recorded = self._store.get_metadata(key)
        by_source = dict(recorded) if isinstance(recorded, dict) else {}
        counts = document_frequencies(documents) if documents else None
        if by_source.get(source) == counts or (counts is None and source not in by_source):
            return
        if counts is None:
            del by_source[source]
        else:
            by_source[source] = counts
        self._store.set_metadata(key, by_source)
        self._mark_changed(collection)  # retrieval reads the vocabulary: cached answers expire

    def _mark_changed(self, collection: str) -> None:
        self._store.set_metadata(GENERATION_KEY.format(collection=collection), uuid.uuid4().hex)

    @staticmethod
    def _retarget(doc: Document, collection: str, source: str | None) -> Document:
        if doc.collection == collection and (not source or doc.source == source):
            return doc
        return dataclasses.replace(doc, collection=collection, source=source or doc.source)
