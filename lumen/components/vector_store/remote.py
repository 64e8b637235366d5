"""A vector store held by another Lumen process, reached over HTTP with a bearer token.

The embedded index (qdrant-edge, qdrant-client's local mode) can be opened by one process
only. The process that holds it (``lumen serve`` or ``lumen index serve``) answers the
store's calls at ``/internal/index/<call>``; this client implements the same protocol, so the
CLI beside a running server, API replicas and job workers all share that one index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import numpy as np

from lumen.components.vector_store.base import (
    CollectionStats,
    ScoredChunk,
    SearchFilter,
    SparseVector,
    StoredDocument,
    chunk_from_payload,
    chunk_payload,
)
from lumen.documents import Chunk
from lumen.errors import ComponentError, IndexUnavailable, InputError

logger = logging.getLogger(__name__)

INDEX_PATH = "/internal/index"


def filter_to_json(where: SearchFilter | None) -> dict[str, Any] | None:
    """A search filter as JSON."""
    if where is None:
        return None
    return {"sources": list(where.sources), "doc_ids": list(where.doc_ids)}


def filter_from_json(data: dict[str, Any] | None) -> SearchFilter | None:
    """A search filter from JSON."""
    if data is None:
        return None
    return SearchFilter(
        sources=tuple(str(s) for s in data.get("sources", ())),
        doc_ids=tuple(str(d) for d in data.get("doc_ids", ())),
    )


def scored_to_json(hits: list[ScoredChunk]) -> list[dict[str, Any]]:
    """Search hits as JSON."""
    return [{"payload": chunk_payload(h.chunk), "score": h.score} for h in hits]


class RemoteVectorStore:
    """The :class:`~lumen.components.vector_store.base.VectorStore` protocol over HTTP.

    Args:
        url: Base URL of the process that holds the index (``http://127.0.0.1:8000``).
        token: The bearer token that process accepts.
        timeout_s: Per-call timeout.
        verify: Check the server's TLS certificate (off only for a loopback self-signed one).

    """

    def __init__(
        self, url: str, token: str, *, timeout_s: float = 60.0, verify: bool = True
    ) -> None:
        self._url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self._url + INDEX_PATH,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            verify=verify,
        )

    def _call(self, name: str, body: dict[str, Any]) -> Any:
        try:
            response = self._client.post(f"/{name}", json=body)
        except httpx.HTTPError as exc:
            raise IndexUnavailable(
                f"cannot reach the index held by the Lumen process at {self._url} "
                f"({type(exc).__name__})"
            ) from exc
        if response.status_code == 200:
            return response.json()["result"]
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.reason_phrase
        if response.status_code in (401, 403):
            raise ComponentError(f"the index process at {self._url} refused the token: {message}")
        if response.status_code == 422:
            raise InputError(message)
        if response.status_code == 503:
            raise IndexUnavailable(f"the index at {self._url} is unavailable: {message}")
        raise ComponentError(f"the index at {self._url} failed ({response.status_code}): {message}")

    def ensure_collection(self, collection: str, dim: int) -> None:
        """Create the collection."""
        self._call("ensure_collection", {"collection": collection, "dim": dim})

    def upsert(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
    ) -> None:
        """Insert or replace the chunks."""
        self._call(
            "upsert",
            {
                "collection": collection,
                "chunks": [chunk_payload(c) for c in chunks],
                "dense": np.asarray(dense, dtype=np.float32).tolist(),
                "sparse": [{"indices": s.indices, "values": s.values} for s in sparse],
            },
        )

    def delete(
        self, collection: str, *, doc_ids: Sequence[str] = (), source: str | None = None
    ) -> None:
        """Delete documents' chunks or a whole source."""
        self._call("delete", {"collection": collection, "doc_ids": list(doc_ids), "source": source})

    def search_dense(
        self, collection: str, vector: np.ndarray, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity."""
        hits = self._call(
            "search_dense",
            {
                "collection": collection,
                "vector": np.asarray(vector, dtype=np.float32).tolist(),
                "limit": limit,
                "where": filter_to_json(where),
            },
        )
        return [ScoredChunk(chunk_from_payload(h["payload"]), float(h["score"])) for h in hits]

    def search_sparse(
        self, collection: str, vector: SparseVector, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by BM25."""
        hits = self._call(
            "search_sparse",
            {
                "collection": collection,
                "vector": {"indices": vector.indices, "values": vector.values},
                "limit": limit,
                "where": filter_to_json(where),
            },
        )
        return [ScoredChunk(chunk_from_payload(h["payload"]), float(h["score"])) for h in hits]

    def documents(self, collection: str, source: str | None = None) -> Iterator[StoredDocument]:
        """The indexed documents."""
        rows = self._call("documents", {"collection": collection, "source": source})
        return iter([StoredDocument(**row) for row in rows])

    def document_chunks(self, collection: str, doc_id: str) -> list[Chunk]:
        """One document's chunks in order."""
        rows = self._call("document_chunks", {"collection": collection, "doc_id": doc_id})
        return [chunk_from_payload(row) for row in rows]

    def stats(self, collection: str) -> CollectionStats:
        """Counts of a collection."""
        return CollectionStats(**self._call("stats", {"collection": collection}))

    def collections(self) -> list[str]:
        """The collections that exist."""
        return [str(name) for name in self._call("collections", {})]

    def get_metadata(self, key: str) -> Any:
        """A value stored beside the index."""
        return self._call("get_metadata", {"key": key})

    def set_metadata(self, key: str, value: Any) -> None:
        """Store a value beside the index."""
        self._call("set_metadata", {"key": key, "value": value})

    def close(self) -> None:
        """Close the HTTP client (the index stays open in its process)."""
        self._client.close()
