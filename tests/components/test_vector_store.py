from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lumen.components.embedding.bm25 import Bm25Encoder
from lumen.components.vector_store.base import SearchFilter, SparseVector, VectorStore
from lumen.components.vector_store.factory import open_vector_store
from lumen.components.vector_store.qdrant_edge import EdgeVectorStore
from lumen.components.vector_store.qdrant_server import QdrantClientStore, point_id
from lumen.documents import Chunk
from lumen.errors import ComponentError, IndexUnavailable
from lumen.settings import VectorStoreSettings

DIM = 8
COLL = "knowledge"

Opener = Callable[[], VectorStore]


def _edge(path: Path, exact_search_below: int = 1000) -> VectorStore:
    return EdgeVectorStore(path / "qdrant", exact_search_below=exact_search_below)


def _local(path: Path, exact_search_below: int = 1000) -> VectorStore:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(path / "qdrant-local"))
    return QdrantClientStore(client, prefix="t_", exact_search_below=exact_search_below)


BACKENDS = {"edge": _edge, "local": _local}


@pytest.fixture(params=sorted(BACKENDS))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    make = BACKENDS[request.param]
    return lambda: make(tmp_path)


@pytest.fixture
def store(opener: Opener) -> Iterator[VectorStore]:
    s = opener()
    yield s
    s.close()


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def make_chunks(
    doc_id: str, n: int, *, source: str = "medquad", doc_hash: str | None = None, total: int = 0
) -> list[Chunk]:
    return [
        Chunk(
            id=f"{doc_id}#{i}",
            doc_id=doc_id,
            collection=COLL,
            source=source,
            title=f"Title {doc_id}",
            section="Overview",
            url=f"https://example.org/{doc_id}",
            text=f"text of {doc_id} part {i}",
            position=i,
            n_chunks=total or n,
            doc_hash=doc_hash or f"hash-{doc_id}",
            metadata={"lang": "en"},
        )
        for i in range(n)
    ]


def sparse_for(n: int) -> list[SparseVector]:
    return [SparseVector(indices=[1], values=[1.0]) for _ in range(n)]


def fill(store: VectorStore) -> tuple[list[Chunk], np.ndarray]:
    """Three documents: a (2 chunks, medquad), b (2 chunks, medquad), c (2 chunks, openfda)."""
    chunks = make_chunks("a", 2) + make_chunks("b", 2) + make_chunks("c", 2, source="openfda")
    dense = unit_vectors(len(chunks))
    store.ensure_collection(COLL, DIM)
    store.upsert(COLL, chunks, dense, sparse_for(len(chunks)))
    return chunks, dense


def ids(hits: Sequence[object]) -> list[str]:
    return [h.chunk.id for h in hits]  # type: ignore[attr-defined]


def test_ensure_collection_is_idempotent(store: VectorStore) -> None:
    store.ensure_collection(COLL, DIM)
    store.ensure_collection(COLL, DIM)
    assert store.collections() == [COLL]
    fill(store)
    store.ensure_collection(COLL, DIM)  # keeps the data
    assert store.stats(COLL).points == 6


def test_dense_search_finds_exact_vector_first(store: VectorStore) -> None:
    chunks, dense = fill(store)
    for i in (0, 3, 5):
        hits = store.search_dense(COLL, dense[i], limit=3)
        assert hits[0].chunk == chunks[i]
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(store.search_dense(COLL, dense[0], limit=100)) == 6


def test_sparse_search_uses_idf(store: VectorStore) -> None:
    common, rare = 11, 22
    # Without IDF the "common" doc would win (1.5 > 1.0); the common term is in 4 of 5 docs.
    vectors = {
        "common": SparseVector([common], [1.5]),
        "rare": SparseVector([rare], [1.0]),
        "x": SparseVector([common], [1.0]),
        "y": SparseVector([common], [1.0]),
        "z": SparseVector([common], [1.0]),
    }
    chunks = [make_chunks(name, 1)[0] for name in vectors]
    store.ensure_collection(COLL, DIM)
    store.upsert(COLL, chunks, unit_vectors(len(chunks)), list(vectors.values()))
    hits = store.search_sparse(COLL, SparseVector([common, rare], [1.0, 1.0]), limit=5)
    assert hits[0].chunk.doc_id == "rare"
    assert hits[1].chunk.doc_id == "common"
    assert len(hits) == 5
    # A term that is nowhere finds nothing; an empty query too.
    assert store.search_sparse(COLL, SparseVector([999], [1.0]), limit=5) == []
    assert store.search_sparse(COLL, SparseVector([], []), limit=5) == []


def test_sparse_search_with_bm25_encoder(store: VectorStore) -> None:
    enc = Bm25Encoder()
    texts = {
        "metformin": "Metformin is a first-line medicine for type 2 diabetes.",
        "insulin": "Insulin therapy for type 1 diabetes and some type 2 diabetes patients.",
        "diet": "Diet and exercise help people with diabetes.",
    }
    chunks = [make_chunks(name, 1)[0] for name in texts]
    store.ensure_collection(COLL, DIM)
    store.upsert(COLL, chunks, unit_vectors(3), [enc.encode_document(t) for t in texts.values()])
    hits = store.search_sparse(COLL, enc.encode_query("diabetes metformin"), limit=3)
    assert hits[0].chunk.doc_id == "metformin"
    hits = store.search_sparse(COLL, enc.encode_query("insulin for diabetics?"), limit=3)
    assert hits[0].chunk.doc_id == "insulin"


def test_filters(store: VectorStore) -> None:
    _, dense = fill(store)
    hits = store.search_dense(COLL, dense[0], 10, SearchFilter(sources=("openfda",)))
    assert {h.chunk.source for h in hits} == {"openfda"}
    assert len(hits) == 2
    hits = store.search_dense(COLL, dense[0], 10, SearchFilter(doc_ids=("b", "c")))
    assert {h.chunk.doc_id for h in hits} == {"b", "c"}
    assert len(hits) == 4
    both = SearchFilter(sources=("medquad",), doc_ids=("b", "c"))
    assert {h.chunk.doc_id for h in store.search_dense(COLL, dense[0], 10, both)} == {"b"}
    hits = store.search_sparse(COLL, SparseVector([1], [1.0]), 10, SearchFilter(doc_ids=("a",)))
    assert {h.chunk.doc_id for h in hits} == {"a"}
    assert store.search_dense(COLL, dense[0], 10, SearchFilter(sources=("nope",))) == []


def test_delete_by_doc_ids_and_source(store: VectorStore) -> None:
    _, dense = fill(store)
    store.delete(COLL, doc_ids=["a"])
    assert {d.doc_id for d in store.documents(COLL)} == {"b", "c"}
    store.delete(COLL, source="openfda")
    assert {d.doc_id for d in store.documents(COLL)} == {"b"}
    store.delete(COLL)  # neither given: nothing happens
    store.delete("missing", doc_ids=["b"])  # a missing collection: nothing happens
    assert store.stats(COLL).points == 2
    assert {h.chunk.doc_id for h in store.search_dense(COLL, dense[0], 10)} == {"b"}


def test_reupsert_replaces(store: VectorStore) -> None:
    chunks, dense = fill(store)
    changed = [replace(c, text="new text", doc_hash="hash-a2") for c in chunks[:2]]
    store.upsert(COLL, changed, dense[:2][::-1].copy(), sparse_for(2))
    assert store.stats(COLL).points == 6
    hit = store.search_dense(COLL, dense[1], 1)[0]
    assert hit.chunk.id == "a#0"
    assert hit.chunk.text == "new text"
    doc_a = next(d for d in store.documents(COLL) if d.doc_id == "a")
    assert doc_a.doc_hash == "hash-a2"
    assert doc_a.complete


def test_documents_report_hashes_and_completeness(store: VectorStore) -> None:
    fill(store)
    partial = make_chunks("p", 2, total=3, doc_hash="hash-p")
    store.upsert(COLL, partial, unit_vectors(2, seed=1), sparse_for(2))
    docs = {d.doc_id: d for d in store.documents(COLL)}
    assert set(docs) == {"a", "b", "c", "p"}
    assert docs["a"].doc_hash == "hash-a"
    assert docs["a"].complete
    assert docs["a"].n_chunks == 2
    assert docs["c"].source == "openfda"
    assert docs["p"].chunks_found == 2
    assert docs["p"].n_chunks == 3
    assert not docs["p"].complete
    assert [d.doc_id for d in store.documents(COLL, source="openfda")] == ["c"]
    assert list(store.documents("missing")) == []


def test_document_chunks_come_whole_and_in_position_order(store: VectorStore) -> None:
    fill(store)
    long_doc = make_chunks("long", 5)
    store.upsert(COLL, long_doc[::-1], unit_vectors(5, seed=2), sparse_for(5))
    found = store.document_chunks(COLL, "long")
    assert [c.id for c in found] == [f"long#{n}" for n in range(5)]
    assert found[3] == long_doc[3]  # every field, metadata included, comes back
    assert [c.doc_id for c in store.document_chunks(COLL, "c")] == ["c", "c"]
    assert store.document_chunks(COLL, "nope") == []
    assert store.document_chunks("missing", "long") == []


def test_mixed_versions_never_look_current(store: VectorStore) -> None:
    old = make_chunks("m", 2, doc_hash="old")
    new = make_chunks("m", 2, doc_hash="new")[1:]
    store.upsert(COLL, old, unit_vectors(2), sparse_for(2))
    store.upsert(COLL, new, unit_vectors(1), sparse_for(1))
    (doc,) = store.documents(COLL)
    assert doc.doc_hash == ""
    assert doc.chunks_found == 2


def test_stats(store: VectorStore) -> None:
    fill(store)
    stats = store.stats(COLL)
    assert (stats.name, stats.points, stats.documents) == (COLL, 6, 3)
    assert stats.sources == {"medquad": 4, "openfda": 2}
    empty = store.stats("missing")
    assert (empty.points, empty.documents, empty.sources) == (0, 0, {})


def test_metadata_round_trip(store: VectorStore) -> None:
    assert store.get_metadata("embedding") is None
    value = {"identity": "minilm/onnx-int8", "dim": 384, "tags": ["a", "b"]}
    store.set_metadata("embedding", value)
    store.set_metadata("version", 1)
    assert store.get_metadata("embedding") == value
    store.set_metadata("version", 2)
    assert store.get_metadata("version") == 2
    assert store.collections() == []  # metadata is not a collection


def test_persistence(opener: Opener) -> None:
    store = opener()
    chunks, dense = fill(store)
    store.set_metadata("embedding", {"dim": DIM})
    store.close()
    store.close()  # idempotent

    reopened = opener()
    try:
        assert reopened.collections() == [COLL]
        assert reopened.stats(COLL).points == 6
        assert reopened.search_dense(COLL, dense[2], 1)[0].chunk == chunks[2]
        assert reopened.get_metadata("embedding") == {"dim": DIM}
        reopened.ensure_collection(COLL, DIM)
        with pytest.raises(ComponentError, match="8-d"):
            reopened.ensure_collection(COLL, DIM * 2)
    finally:
        reopened.close()


def test_missing_collection(store: VectorStore) -> None:
    assert store.search_dense("missing", unit_vectors(1)[0], 5) == []
    assert store.search_sparse("missing", SparseVector([1], [1.0]), 5) == []
    assert store.collections() == []


def test_dim_mismatch(store: VectorStore) -> None:
    store.ensure_collection(COLL, DIM)
    with pytest.raises(ComponentError, match="16-d"):
        store.ensure_collection(COLL, 16)
    chunks = make_chunks("a", 1)
    with pytest.raises(ComponentError):
        store.upsert(COLL, chunks, np.ones((1, 16), dtype=np.float32), sparse_for(1))


def test_bad_input(store: VectorStore) -> None:
    with pytest.raises(ComponentError, match="counts must match"):
        store.upsert(COLL, make_chunks("a", 2), unit_vectors(3), sparse_for(2))
    with pytest.raises(ComponentError, match="invalid collection name"):
        store.ensure_collection("../escape", DIM)
    store.upsert(COLL, [], np.zeros((0, DIM), dtype=np.float32), [])  # nothing to do
    assert store.collections() == []


def test_edge_hnsw_path_and_optimize(tmp_path: Path) -> None:
    # exact_search_below=0: every search asks for HNSW; small segments are still scanned.
    store = EdgeVectorStore(tmp_path / "q", exact_search_below=0)
    try:
        chunks, dense = fill(store)
        store.optimize()
        assert store.search_dense(COLL, dense[4], 1)[0].chunk == chunks[4]
    finally:
        store.close()


def test_point_ids_are_stable() -> None:
    assert point_id("doc#0") == point_id("doc#0") != point_id("doc#1")
    assert len(point_id("doc#0")) == 36


def test_factory(tmp_path: Path) -> None:
    edge = open_vector_store(VectorStoreSettings(backend="edge"), tmp_path)
    assert isinstance(edge, EdgeVectorStore)
    edge.ensure_collection(COLL, DIM)
    edge.close()
    assert (tmp_path / "qdrant" / COLL).is_dir()

    local = open_vector_store(VectorStoreSettings(backend="local"), tmp_path)
    assert isinstance(local, QdrantClientStore)
    local.close()
    assert (tmp_path / "qdrant-local").is_dir()


def test_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = VectorStoreSettings(backend="server", url=url, timeout_s=2)
    with pytest.raises(ComponentError, match=f"127.0.0.1:{port}"):
        open_vector_store(settings, tmp_path)


def test_edge_index_in_use(tmp_path: Path) -> None:
    first = EdgeVectorStore(tmp_path, exact_search_below=10)
    second = EdgeVectorStore(tmp_path, exact_search_below=10)
    try:
        first.ensure_collection(COLL, DIM)
        with pytest.raises(IndexUnavailable):  # a 503 for the service, not a broken index
            second.stats(COLL)
    finally:
        second.close()
        first.close()
    reopened = EdgeVectorStore(tmp_path, exact_search_below=10)
    assert reopened.stats(COLL).points == 0
    reopened.close()


def test_missing_extras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lumen.errors import MissingExtraError

    monkeypatch.delitem(sys.modules, "lumen.components.vector_store.qdrant_edge")
    monkeypatch.setitem(sys.modules, "qdrant_edge", None)
    with pytest.raises(MissingExtraError, match="qdrant-edge-py"):
        open_vector_store(VectorStoreSettings(backend="edge"), tmp_path)
    monkeypatch.setitem(sys.modules, "qdrant_client", None)
    with pytest.raises(MissingExtraError, match="qdrant-client"):
        open_vector_store(VectorStoreSettings(backend="local"), tmp_path)
