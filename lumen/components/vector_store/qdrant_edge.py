"""Qdrant's engine in-process (qdrant-edge-py) as Lumen's vector store.

One EdgeShard per collection under ``root/<collection>/``; metadata in ``root/metadata.json``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

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
from lumen.components.vector_store.qdrant_server import (
    DOCUMENT_FIELDS,
    INDEXED_FIELDS,
    SCROLL_BATCH,
    UPSERT_BATCH,
    aggregate_documents,
    check_batch,
    check_collection_name,
    point_id,
    query_vector,
    stats_from_documents,
)
from lumen.documents import Chunk
from lumen.errors import ComponentError, IndexUnavailable

logger = logging.getLogger(__name__)

_CONFIG_FILE = "edge_config.json"
_METADATA_FILE = "metadata.json"


def _shard_config(dim: int) -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )


def _stored_dim(path: Path) -> int | None:
    """The dense vector size recorded in a shard's config file, if readable."""
    try:
        config = json.loads((path / _CONFIG_FILE).read_text(encoding="utf-8"))
        return int(config["vectors"][DENSE_VECTOR]["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _wal_locked(shard: Path) -> bool:
    """Whether an open shard (this process's or another's) holds the lock on ``shard``'s WAL.

    qdrant-edge takes an exclusive ``flock`` on the WAL directory while a shard is open; a
    probe that would block says the index is in use, whatever the engine's message says.
    """
    try:
        fd = os.open(shard / "wal", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class EdgeVectorStore:
    """The vector store in-process: Qdrant's engine through qdrant-edge-py.

    Args:
        root: Directory holding one shard directory per collection and ``metadata.json``.
        exact_search_below: Collections with fewer points are searched exactly (full recall);
            larger ones use HNSW, which exists only once :meth:`optimize` has built it.

    """

    def __init__(self, root: Path, *, exact_search_below: int) -> None:
        self._root = Path(root)
        self._exact_below = exact_search_below
        self._shards: dict[str, qe.EdgeShard] = {}
        self._dims: dict[str, int] = {}
        self._metadata: dict[str, Any] | None = None
        self._lock = threading.RLock()

    # --- helpers ----------------------------------------------------------------------------

    def _path(self, collection: str) -> Path:
        check_collection_name(collection)
        return self._root / collection

    @staticmethod
    def _is_shard(path: Path) -> bool:
        return (path / _CONFIG_FILE).is_file() or (path / "segments").is_dir()

    def _shard(self, collection: str) -> qe.EdgeShard | None:
        """The open shard of ``collection``, loading it on first use; None if it does not exist."""
        path = self._path(collection)
        with self._lock:
            shard = self._shards.get(collection)
            if shard is not None:
                return shard
            if not self._is_shard(path):
                return None
            try:
                shard = qe.EdgeShard.load(str(path))
            except Exception as exc:  # qdrant-edge raises plain Exception
                if _wal_locked(path):  # another open shard holds it
                    raise IndexUnavailable(
                        f"the index at {path} is in use by another process or store "
                        "(only one at a time can open the embedded index)"
                    ) from exc
                raise ComponentError(f"cannot open the index at {path}: {exc}") from exc
            self._shards[collection] = shard
            dim = _stored_dim(path)
            if dim is not None:
                self._dims[collection] = dim
            logger.debug("loaded edge shard %s", path)
            return shard

    @staticmethod
    def _filter(where: SearchFilter | None, source: str | None = None) -> qe.Filter | None:
        must: list[Any] = []
        if where is not None and where.sources:
            must.append(qe.FieldCondition("source", match=qe.MatchAny(list(where.sources))))
        if where is not None and where.doc_ids:
            must.append(qe.FieldCondition("doc_id", match=qe.MatchAny(list(where.doc_ids))))
        if source is not None:
            must.append(qe.FieldCondition("source", match=qe.MatchValue(source)))
        return qe.Filter(must=must) if must else None

    def _scroll_payloads(self, shard: qe.EdgeShard, source: str | None) -> Iterator[dict[str, Any]]:
        offset: Any = None
        flt = self._filter(None, source)
        selector = qe.PayloadSelector.Include(list(DOCUMENT_FIELDS))
        while True:
            records, offset = shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=SCROLL_BATCH, filter=flt, with_payload=selector
                )
            )
            for record in records:
                yield record.payload or {}
            if offset is None:
                return

    def _query(self, shard: qe.EdgeShard, request: qe.QueryRequest) -> list[ScoredChunk]:
        try:
            points = shard.query(request)
        except Exception as exc:  # e.g. a query vector of the wrong size
            raise ComponentError(f"search failed: {exc}") from exc
        return [ScoredChunk(chunk_from_payload(p.payload or {}), float(p.score)) for p in points]

    # --- the VectorStore protocol -----------------------------------------------------------

    def ensure_collection(self, collection: str, dim: int) -> None:
        """Create the collection's shard (dense cosine of ``dim``, BM25 sparse with IDF).

        Raises:
            ComponentError: the collection exists with another vector size.

        """
        path = self._path(collection)
        with self._lock:
            if self._shard(collection) is not None:
                existing = self._dims.get(collection)
                if existing is not None and existing != dim:
                    raise ComponentError(
                        f"collection {collection!r} holds {existing}-d vectors but the "
                        f"embedding model gives {dim}-d: rebuild the index "
                        "(lumen index rebuild) or switch back to the model it was built with"
                    )
                return
            try:
                shard = qe.EdgeShard.create(str(path), _shard_config(dim))
                for field in INDEXED_FIELDS:
                    shard.update(
                        qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword)
                    )
            except Exception as exc:
                raise ComponentError(f"cannot create the index at {path}: {exc}") from exc
            self._shards[collection] = shard
            self._dims[collection] = dim
            logger.info("created edge shard %s (dim %s)", path, dim)

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
        shard = self._shard(collection)
        if shard is None:
            raise ComponentError(f"collection {collection!r} could not be opened")
        for start in range(0, len(chunks), UPSERT_BATCH):
            points = [
                qe.Point(
                    point_id(chunk.id),
                    {
                        DENSE_VECTOR: row.tolist(),
                        SPARSE_VECTOR: qe.SparseVector(list(sv.indices), list(sv.values)),
                    },
                    chunk_payload(chunk),
                )
                for chunk, row, sv in zip(
                    chunks[start : start + UPSERT_BATCH],
                    rows[start : start + UPSERT_BATCH],
                    sparse[start : start + UPSERT_BATCH],
                    strict=True,
                )
            ]
            try:
                shard.update(qe.UpdateOperation.upsert_points(points))
            except Exception as exc:
                raise ComponentError(f"writing to collection {collection!r} failed: {exc}") from exc

    def delete(
        self, collection: str, *, doc_ids: Sequence[str] = (), source: str | None = None
    ) -> None:
        """Delete chunks of ``doc_ids`` (and/or of ``source``); nothing when neither is given."""
        if not doc_ids and source is None:
            return
        shard = self._shard(collection)
        if shard is None:
            return
        flt = self._filter(SearchFilter(doc_ids=tuple(doc_ids)), source)
        if flt is None:
            raise ComponentError("a delete needs a filter")
        shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    def search_dense(
        self, collection: str, vector: np.ndarray, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, best first ([] if the collection is missing)."""
        query = query_vector(vector)
        shard = self._shard(collection)
        if shard is None or limit <= 0:
            return []
        exact = shard.info().points_count < self._exact_below
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(query, using=DENSE_VECTOR),
            filter=self._filter(where),
            params=qe.SearchParams(exact=exact),
            with_payload=True,
        )
        return self._query(shard, request)

    def search_sparse(
        self, collection: str, vector: SparseVector, limit: int, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by BM25 (IDF over the whole collection, applied by Qdrant), best first."""
        shard = self._shard(collection)
        if shard is None or limit <= 0 or not vector.indices:
            return []
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(
                qe.SparseVector(list(vector.indices), list(vector.values)), using=SPARSE_VECTOR
            ),
            filter=self._filter(where),
            with_payload=True,
        )
        return self._query(shard, request)

    def documents(self, collection: str, source: str | None = None) -> Iterator[StoredDocument]:
        """The indexed documents with their hashes and chunk counts, by doc id."""
        shard = self._shard(collection)
        if shard is None:
            return iter(())
        return iter(aggregate_documents(self._scroll_payloads(shard, source)))

    def document_chunks(self, collection: str, doc_id: str) -> list[Chunk]:
        """One document's chunks in position order ([] if it is not there)."""
        shard = self._shard(collection)
        if shard is None:
            return []
        flt = self._filter(SearchFilter(doc_ids=(doc_id,)))
        chunks: list[Chunk] = []
        offset: Any = None
        while True:
            records, offset = shard.scroll(
                qe.ScrollRequest(offset=offset, limit=SCROLL_BATCH, filter=flt, with_payload=True)
            )
            chunks.extend(chunk_from_payload(record.payload or {}) for record in records)
            if offset is None:
                return sorted(chunks, key=lambda chunk: chunk.position)

    def stats(self, collection: str) -> CollectionStats:
        """Point, document and per-source point counts (zeros if the collection is missing)."""
        shard = self._shard(collection)
        if shard is None:
            return CollectionStats(name=collection, points=0, documents=0)
        points = shard.count(qe.CountRequest(exact=True))
        docs = aggregate_documents(self._scroll_payloads(shard, None))
        return stats_from_documents(collection, points, docs)

    def collections(self) -> list[str]:
        """The collections that exist on disk (or are open), sorted."""
        with self._lock:
            names = set(self._shards)
        if self._root.is_dir():
            names.update(p.name for p in self._root.iterdir() if p.is_dir() and self._is_shard(p))
        return sorted(names)

    def _load_metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            path = self._root / _METADATA_FILE
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                loaded = {}
            except (OSError, ValueError) as exc:
                raise ComponentError(f"cannot read the index metadata {path}: {exc}") from exc
            self._metadata = loaded if isinstance(loaded, dict) else {}
        return self._metadata

    def get_metadata(self, key: str) -> Any:
        """The value stored under ``key``, or None."""
        with self._lock:
            return self._load_metadata().get(key)

    def set_metadata(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` (the file is replaced atomically)."""
        with self._lock:
            data = dict(self._load_metadata())
            data[key] = value
            text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
            self._root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".metadata-", suffix=".tmp", dir=self._root)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self._root / _METADATA_FILE)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._metadata = data

    def optimize(self, collection: str | None = None) -> None:
        """Run Qdrant's optimisers (merges segments, builds HNSW) and block until done.

        Worth it after a large ingest into a collection at or above ``exact_search_below``
        points; smaller collections are searched exactly and gain nothing.
        """
        names = [collection] if collection is not None else self.collections()
        for name in names:
            shard = self._shard(name)
            if shard is not None:
                changed = shard.optimize()
                logger.info("optimised collection %s (changed: %s)", name, changed)

    def flush(self) -> None:
        """Write pending changes of every open shard to disk."""
        with self._lock:
            for shard in self._shards.values():
                shard.flush()

    def close(self) -> None:
        """Flush and close every open shard; the store reopens them if used again."""
        with self._lock:
            shards, self._shards = self._shards, {}
            for name, shard in shards.items():
                try:
                    shard.flush()
                    shard.close()
                except Exception as exc:  # keep closing the others
                    logger.warning("closing collection %s failed: %s", name, exc)

    def __enter__(self) -> EdgeVectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
