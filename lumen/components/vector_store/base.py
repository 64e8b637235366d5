"""The interface every vector store implements, and the types it trades in."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lumen.documents import Chunk

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "bm25"


@dataclass(frozen=True)
class SparseVector:
    """A sparse vector: term ids and their weights (BM25 term-frequency part)."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class SearchFilter:
    """Payload conditions: every field given must match (sources: any of them)."""

    sources: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk found by a search, with its score under that search."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class StoredDocument:
    """What the store knows of an indexed document: enough for incremental ingest."""

    doc_id: str
    source: str
    doc_hash: str
    n_chunks: int
    chunks_found: int

    @property
    def complete(self) -> bool:
        """All the document's chunks are there (an interrupted ingest can leave it partial)."""
        return self.chunks_found == self.n_chunks


@dataclass(frozen=True)
class CollectionStats:
    """Counts for ``lumen index stats``."""

    name: str
    points: int
    documents: int
    sources: dict[str, int] = field(default_factory=dict)


class VectorStore(Protocol):
    """A Qdrant-backed store of chunks with a dense and a BM25 sparse vector each."""

    def ensure_collection(self, collection: str, dim: int) -> None:
        """Create the collection (dense cosine vectors of ``dim``, sparse BM25 with IDF)."""

    def upsert(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
    ) -> None:
        """Insert or replace the chunks (point id derived from ``chunk.id``)."""

    def delete(
        self, collection: str, *, doc_ids: Sequence[str] = (), source: str | None = None
    ) -> None:
        """Delete the chunks of the given documents, or all chunks of a source."""

    def search_dense(
        self, collection: str, vector: np.ndarray, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, best first."""

    def search_sparse(
        self, collection: str, vector: SparseVector, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by BM25 (sparse dot product with IDF), best first."""

    def documents(self, collection: str, source: str | None = None) -> Iterator[StoredDocument]:
        """The indexed documents, with their hashes and chunk counts."""

    def document_chunks(self, collection: str, doc_id: str) -> list[Chunk]:
        """One document's chunks in position order ([] if it is not there)."""

    def stats(self, collection: str) -> CollectionStats:
        """Point, document and per-source counts of a collection."""

    def collections(self) -> list[str]:
        """The collections that exist."""

    def get_metadata(self, key: str) -> Any:
        """A value stored beside the index (for example, the embedding model's identity)."""

    def set_metadata(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value beside the index."""

    def close(self) -> None:
        """Flush and release the store."""


def chunk_payload(chunk: Chunk) -> dict[str, Any]:
    """The payload stored with a chunk's point."""
    return {
        "chunk_id": chunk.id,
        "doc_id": chunk.doc_id,
        "collection": chunk.collection,
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "url": chunk.url,
        "text": chunk.text,
        "position": chunk.position,
        "n_chunks": chunk.n_chunks,
        "doc_hash": chunk.doc_hash,
        "metadata": chunk.metadata,
    }


def chunk_from_payload(payload: dict[str, Any]) -> Chunk:
    """Rebuild a chunk from its stored payload."""
    return Chunk(
        id=payload["chunk_id"],
        doc_id=payload["doc_id"],
        collection=payload["collection"],
        source=payload["source"],
        title=payload["title"],
        section=payload["section"],
        url=payload["url"],
        text=payload["text"],
        position=int(payload["position"]),
        n_chunks=int(payload["n_chunks"]),
        doc_hash=payload["doc_hash"],
        metadata=dict(payload.get("metadata") or {}),
    )
