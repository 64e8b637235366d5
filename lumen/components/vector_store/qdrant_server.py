"""A Qdrant server (or qdrant-client's local mode) as Lumen's vector store.

Also holds the helpers both Qdrant stores share (point ids, vector checks, document aggregation);
they import no Qdrant package, so this module loads without the ``server`` extra.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lumen.components.vector_store.base import (
    DENSE_VECTOR,
    SPARSE_VECTOR,
    CollectionStats,
    ScoredChunk,
    SearchFilter,
    SparseVector,
    StoredDocument,
    chunk_from_payload,
    chunk_payload,
)
from lumen.documents import Chunk
from lumen.errors import ComponentError, IndexUnavailable, MissingExtraError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient, models

    from lumen.settings import VectorStoreSettings

logger = logging.getLogger(__name__)

_POINT_NAMESPACE = uuid.UUID("8d3f6f52-5a0e-4c55-9a51-3c1c2f6f0b7e")
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# The payload fields documents() reads; they are all it needs.
DOCUMENT_FIELDS = ("doc_id", "source", "doc_hash", "n_chunks")
INDEXED_FIELDS = ("doc_id", "source")
UPSERT_BATCH = 256
SCROLL_BATCH = 1024
META_COLLECTION = "meta"
_COUNT_TTL_S = 30.0


def point_id(chunk_id: str) -> str:
    """The Qdrant point id of a chunk: a UUID5 of its id (the same in every process)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def check_collection_name(collection: str) -> None:
    """Reject names that are unsafe as directory or collection names."""
    if not _COLLECTION_NAME.match(collection):
        raise ComponentError(
            f"invalid collection name {collection!r}: use letters, digits, '_' and '-' "
            "(at most 64 characters)"
        )


def check_batch(
    chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVector]
) -> np.ndarray:
    """Check that chunks, dense rows and sparse vectors line up; return float32 rows."""
    rows = np.asarray(dense, dtype=np.float32)
    if rows.ndim != 2:
        raise ComponentError(f"dense vectors must be a 2-d array, got shape {rows.shape}")
    if not len(chunks) == rows.shape[0] == len(sparse):
        raise ComponentError(
            f"upsert got {len(chunks)} chunks, {rows.shape[0]} dense and "
            f"{len(sparse)} sparse vectors: the counts must match"
        )
    return rows


def query_vector(vector: np.ndarray) -> list[float]:
    """A 1-d (or 1-row) query vector as a list of floats."""
    values = np.asarray(vector, dtype=np.float32)
    if values.ndim == 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 1:
        raise ComponentError(f"a query vector must be 1-d, got shape {values.shape}")
    return [float(x) for x in values]


def aggregate_documents(payloads: Iterable[Mapping[str, Any]]) -> list[StoredDocument]:
    """Fold chunk payloads into one record per document, sorted by doc id.

    A document whose chunks disagree on ``doc_hash`` or ``n_chunks`` (an interrupted re-ingest)
    is reported with an empty hash, so it never looks up to date.
    """
    found: dict[str, list[Any]] = {}
    for payload in payloads:
        doc_id = str(payload.get("doc_id", ""))
        doc_hash = str(payload.get("doc_hash", ""))
        n_chunks = int(payload.get("n_chunks", 0))
        entry = found.get(doc_id)
        if entry is None:
            found[doc_id] = [str(payload.get("source", "")), doc_hash, n_chunks, 1]
            continue
        entry[3] += 1
        if entry[1] != doc_hash or entry[2] != n_chunks:
            entry[1] = ""
            entry[2] = max(entry[2], n_chunks)
    return [
        StoredDocument(doc_id=doc_id, source=src, doc_hash=doc_hash, n_chunks=n, chunks_found=count)
        for doc_id, (src, doc_hash, n, count) in sorted(found.items())
    ]


def stats_from_documents(
    name: str, points: int, documents: Sequence[StoredDocument]
) -> CollectionStats:
    """Collection stats; ``sources`` counts points (chunks) per source."""
    sources: dict[str, int] = {}
    for doc in documents:
        sources[doc.source] = sources.get(doc.source, 0) + doc.chunks_found
    return CollectionStats(
        name=name, points=points, documents=len(documents), sources=dict(sorted(sources.items()))
    )


def _import_client() -> Any:
    try:
        import qdrant_client
    except ImportError as exc:
        raise MissingExtraError("qdrant-client", "server") from exc
    return qdrant_client


class QdrantClientStore:
    """The vector store on a Qdrant server, or on qdrant-client's local mode.

    Collections are named ``prefix + collection`` on the server; metadata lives in the
    collection ``prefix + "meta"``, one point per key.

    Args:
        client: An open client; the store closes it in :meth:`close`.
        prefix: Prefix of the store's collection names on a shared server.
        exact_search_below: Collections with fewer points are searched exactly.
        location: Where the store lives, for error messages (the server URL or the local path).

    """

    def __init__(
        self,
        client: QdrantClient,
        *,
        prefix: str,
        exact_search_below: int,
        location: str = "qdrant",
    ) -> None:
        qc = _import_client()
        self._models: Any = qc.models
        self._client = client
        self._prefix = prefix
        self._exact_below = exact_search_below
        self._location = location
        # Local mode searches exactly anyway and warns about payload indexes and search params.
        self._local = type(getattr(client, "_client", None)).__name__ == "QdrantLocal"
        self._known: set[str] = set()
        self._counts: dict[str, tuple[float, int]] = {}

    # --- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn transport and server failures into one-line ComponentErrors."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            yield
        except ComponentError:
            raise
        except ResponseHandlingException as exc:
            raise ComponentError(
                f"cannot reach Qdrant at {self._location} ({action}): {exc}"
            ) from exc
        except UnexpectedResponse as exc:
            raise ComponentError(
                f"Qdrant at {self._location} refused {action}: HTTP {exc.status_code} "
                f"{exc.reason_phrase}"
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise ComponentError(f"Qdrant at {self._location} failed ({action}): {exc}") from exc

    def _name(self, collection: str) -> str:
        check_collection_name(collection)
        if collection == META_COLLECTION:
            raise ComponentError(f"the collection name {META_COLLECTION!r} is reserved")
        return self._prefix + collection

    def _exists(self, name: str) -> bool:
        if name in self._known:
            return True
        if self._client.collection_exists(name):
            self._known.add(name)
            return True
        return False

    def _filter(
        self, where: SearchFilter | None, source: str | None = None
    ) -> models.Filter | None:
        m = self._models
        must: list[Any] = []
        if where is not None and where.sources:
            must.append(m.FieldCondition(key="source", match=m.MatchAny(any=list(where.sources))))
        if where is not None and where.doc_ids:
            must.append(m.FieldCondition(key="doc_id", match=m.MatchAny(any=list(where.doc_ids))))
        if source is not None:
            must.append(m.FieldCondition(key="source", match=m.MatchValue(value=source)))
        return m.Filter(must=must) if must else None

    def _count(self, name: str, *, fresh: bool = False) -> int:
        cached = self._counts.get(name)
        now = time.monotonic()
        if not fresh and cached is not None and now - cached[0] < _COUNT_TTL_S:
            return cached[1]
        count = int(self._client.count(name, exact=True).count)
        self._counts[name] = (now, count)
        return count

    def _search_params(self, name: str) -> models.SearchParams | None:
        if self._local:
            return None
        exact: bool = self._count(name) < self._exact_below
        params: models.SearchParams = self._models.SearchParams(exact=exact)
        return params

    def _hits(self, points: Iterable[Any]) -> list[ScoredChunk]:
        return [ScoredChunk(chunk_from_payload(p.payload or {}), float(p.score)) for p in points]

    # --- the VectorStore protocol -----------------------------------------------------------

    def ensure_collection(self, collection: str, dim: int) -> None:
        """Create the collection (dense cosine of ``dim`` + BM25 sparse with IDF) if missing."""
        name = self._name(collection)
        m = self._models
        with self._guard(f"creating collection {name}"):
            if self._client.collection_exists(name):
                vectors = self._client.get_collection(name).config.params.vectors
                existing = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
                if existing is None:
                    raise ComponentError(
                        f"the Qdrant collection {name} exists without a '{DENSE_VECTOR}' vector; "
                        "it was not created by Lumen"
                    )
                if existing.size != dim:
                    raise ComponentError(
                        f"collection {collection!r} holds {existing.size}-d vectors but the "
                        f"embedding model gives {dim}-d: rebuild the index "
                        "(lumen index rebuild) or switch back to the model it was built with"
                    )
                self._known.add(name)
                return
            self._client.create_collection(
                name,
                vectors_config={DENSE_VECTOR: m.VectorParams(size=dim, distance=m.Distance.COSINE)},
                sparse_vectors_config={
                    SPARSE_VECTOR: m.SparseVectorParams(modifier=m.Modifier.IDF)
                },
            )
            if not self._local:
                for field in INDEXED_FIELDS:
                    self._client.create_payload_index(
                        name, field, m.PayloadSchemaType.KEYWORD, wait=True
                    )
            self._known.add(name)
            logger.info("created Qdrant collection %s (dim %s)", name, dim)

    def upsert(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
    ) -> None:
        """Insert or replace chunks; creates the collection on first use."""
        rows = check_batch(chunks, dense, sparse)
        if not chunks:
            return
        self.ensure_collection(collection, int(rows.shape[1]))
        name = self._name(collection)
        m = self._models
        with self._guard(f"writing to {name}"):
            for start in range(0, len(chunks), UPSERT_BATCH):
                points = [
                    m.PointStruct(
                        id=point_id(chunk.id),
                        vector={
                            DENSE_VECTOR: row.tolist(),
                            SPARSE_VECTOR: m.SparseVector(
                                indices=list(sv.indices), values=list(sv.values)
                            ),
                        },
                        payload=chunk_payload(chunk),
                    )
                    for chunk, row, sv in zip(
                        chunks[start : start + UPSERT_BATCH],
                        rows[start : start + UPSERT_BATCH],
                        sparse[start : start + UPSERT_BATCH],
                        strict=True,
                    )
                ]
                self._client.upsert(name, points=points, wait=True)
        self._counts.pop(name, None)

    def delete(
        self, collection: str, *, doc_ids: Sequence[str] = (), source: str | None = None
    ) -> None:
        """Delete chunks of ``doc_ids`` (and/or of ``source``); nothing when neither is given."""
        if not doc_ids and source is None:
            return
        name = self._name(collection)
        m = self._models
        with self._guard(f"deleting from {name}"):
            if not self._exists(name):
                return
            flt = self._filter(SearchFilter(doc_ids=tuple(doc_ids)), source)
            self._client.delete(name, points_selector=m.FilterSelector(filter=flt), wait=True)
        self._counts.pop(name, None)

    def search_dense(
        self, collection: str, vector: np.ndarray, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, best first ([] if the collection is missing)."""
        name = self._name(collection)
        query = query_vector(vector)
        with self._guard(f"searching {name}"):
            if limit <= 0 or not self._exists(name):
                return []
            result = self._client.query_points(
                name,
                query=query,
                using=DENSE_VECTOR,
                query_filter=self._filter(where),
                search_params=self._search_params(name),
                limit=limit,
                with_payload=True,
            )
        return self._hits(result.points)

    def search_sparse(
        self, collection: str, vector: SparseVector, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by BM25 (IDF applied by Qdrant), best first."""
        name = self._name(collection)
        m = self._models
        with self._guard(f"searching {name}"):
            if limit <= 0 or not vector.indices or not self._exists(name):
                return []
            result = self._client.query_points(
                name,
                query=m.SparseVector(indices=list(vector.indices), values=list(vector.values)),
                using=SPARSE_VECTOR,
                query_filter=self._filter(where),
                limit=limit,
                with_payload=True,
            )
        return self._hits(result.points)

    def _scroll_payloads(
        self, name: str, flt: models.Filter | None, fields: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every matching point's payload (only ``fields`` if given), page by page."""
        offset: Any = None
        while True:
            records, offset = self._client.scroll(
                name,
                scroll_filter=flt,
                limit=SCROLL_BATCH,
                offset=offset,
                with_payload=fields if fields is not None else True,
                with_vectors=False,
            )
            for record in records:
                yield record.payload or {}
            if offset is None:
                return

    def documents(self, collection: str, source: str | None = None) -> Iterator[StoredDocument]:
        """The indexed documents with their hashes and chunk counts, by doc id."""
        name = self._name(collection)
        with self._guard(f"reading {name}"):
            if not self._exists(name):
                return iter(())
            docs = aggregate_documents(
                self._scroll_payloads(name, self._filter(None, source), list(DOCUMENT_FIELDS))
            )
        return iter(docs)

    def document_chunks(self, collection: str, doc_id: str) -> list[Chunk]:
        """One document's chunks in position order ([] if it is not there)."""
        name = self._name(collection)
        flt = self._filter(SearchFilter(doc_ids=(doc_id,)))
        with self._guard(f"reading {name}"):
            if not self._exists(name):
                return []
            chunks = [chunk_from_payload(payload) for payload in self._scroll_payloads(name, flt)]
        return sorted(chunks, key=lambda chunk: chunk.position)

    def stats(self, collection: str) -> CollectionStats:
        """Point, document and per-source point counts (zeros if the collection is missing)."""
        name = self._name(collection)
        with self._guard(f"reading {name}"):
            if not self._exists(name):
                return CollectionStats(name=collection, points=0, documents=0)
            points = self._count(name, fresh=True)
            docs = aggregate_documents(self._scroll_payloads(name, None, list(DOCUMENT_FIELDS)))
        return stats_from_documents(collection, points, docs)

    def collections(self) -> list[str]:
        """The store's collections (server names without the prefix), sorted."""
        with self._guard("listing collections"):
            names = [c.name for c in self._client.get_collections().collections]
        meta = self._prefix + META_COLLECTION
        return sorted(
            n[len(self._prefix) :] for n in names if n.startswith(self._prefix) and n != meta
        )

    def get_metadata(self, key: str) -> Any:
        """The value stored under ``key``, or None."""
        name = self._prefix + META_COLLECTION
        with self._guard("reading metadata"):
            if not self._exists(name):
                return None
            records = self._client.retrieve(name, [point_id("meta:" + key)], with_payload=True)
        if not records:
            return None
        return (records[0].payload or {}).get("value")

    def set_metadata(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key``."""
        name = self._prefix + META_COLLECTION
        m = self._models
        with self._guard("writing metadata"):
            if not self._exists(name):
                self._client.create_collection(name, vectors_config={})
                self._known.add(name)
            self._client.upsert(
                name,
                points=[
                    m.PointStruct(
                        id=point_id("meta:" + key), vector={}, payload={"key": key, "value": value}
                    )
                ],
                wait=True,
            )

    def optimize(self, collection: str | None = None) -> None:
        """Nothing to do: the server optimises in the background."""

    def close(self) -> None:
        """Close the client (local mode releases its storage lock)."""
        try:
            self._client.close()
        except Exception as exc:  # closing must not mask the caller's own error
            logger.warning("closing the Qdrant client failed: %s", exc)


def open_client_store(settings: VectorStoreSettings, data_dir: Path) -> QdrantClientStore:
    """Open the store on a Qdrant server (backend "server") or in local mode ("local").

    Raises:
        MissingExtraError: qdrant-client is not installed.
        ComponentError: the server cannot be reached, or the local storage is in use.

    """
    qc = _import_client()
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if settings.backend == "server":
        api_key = settings.api_key.get_secret_value() if settings.api_key is not None else None
        client = qc.QdrantClient(
            url=settings.url,
            api_key=api_key,
            timeout=max(1, math.ceil(settings.timeout_s)),
            check_compatibility=False,
        )
        try:
            client.get_collections()
        except (ResponseHandlingException, OSError) as exc:
            client.close()
            raise IndexUnavailable(
                f"cannot reach the Qdrant server at {settings.url}: {exc}"
            ) from exc
        except UnexpectedResponse as exc:
            client.close()
            raise ComponentError(
                f"the Qdrant server at {settings.url} answered HTTP {exc.status_code} "
                f"{exc.reason_phrase} (check the API key)"
            ) from exc
        location = settings.url
    elif settings.backend == "local":
        path = data_dir / "qdrant-local"
        path.mkdir(parents=True, exist_ok=True)
        try:
            client = qc.QdrantClient(path=str(path))
        except RuntimeError as exc:  # the storage folder is locked by another process
            raise IndexUnavailable(f"cannot open the local Qdrant store at {path}: {exc}") from exc
        location = str(path)
    else:
        raise ComponentError(f"the vector store backend {settings.backend!r} is not a client one")
    return QdrantClientStore(
        client,
        prefix=settings.collection_prefix,
        exact_search_below=settings.exact_search_below,
        location=location,
    )
