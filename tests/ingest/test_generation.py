"""The index generation: changes with every re-ingest that changes something, and keys the cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lumen.clock import ManualClock
from lumen.components.kv.memory import MemoryKV
from lumen.documents import Document, Section
from lumen.errors import ComponentError
from lumen.factory import build_lumen
from lumen.ingest.pipeline import SPARSE_KEY, index_generation
from lumen.security.crypto import Keyring
from lumen.services.answer_cache import AnswerCache
from lumen.settings import Settings


def _document(text: str) -> Document:
    return Document(
        id="note:fever",
        title="Fever",
        url="file:fever.md",
        source="notes",
        collection="knowledge",
        sections=(Section("", text),),
    )


def test_generation_changes_only_when_the_index_does(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    with build_lumen(settings, embedder=embedder) as lumen:
        store, ingestor = lumen.store, lumen.ingestor
        empty = index_generation(store, ["knowledge"])
        ingestor.ingest([_document("Drink water when you have a fever.")], collection="knowledge")
        first = index_generation(store, ["knowledge", "drugs"])
        assert first != empty

        ingestor.ingest([_document("Drink water when you have a fever.")], collection="knowledge")
        assert index_generation(store, ["drugs", "knowledge"]) == first  # nothing changed

        ingestor.ingest([_document("Rest and drink water with a fever.")], collection="knowledge")
        second = index_generation(store, ["knowledge", "drugs"])
        assert second != first
        assert index_generation(store, ["drugs"]) == index_generation(store, ["drugs"])

        assert ingestor.delete_source("knowledge", "notes") == 1
        third = index_generation(store, ["knowledge", "drugs"])
        assert third not in (first, second)

    # Answers cached before a re-ingest are not found after it.
    cache = AnswerCache(
        MemoryKV(ManualClock()), Keyring({"k1": os.urandom(32)}, "k1"), ttl_s=60, identity="x"
    )
    before, after = (
        cache.key("What helps a fever?", ("knowledge",), generation=g) for g in (first, second)
    )
    cache.put(before, {"answer": "Drink water."}, user_id="u")
    assert cache.get(before) == {"answer": "Drink water."}
    assert cache.get(after) is None


def test_index_refuses_bm25_terms_of_another_tokeniser(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(paths={"data_dir": tmp_path / "data"})
    with build_lumen(settings, embedder=embedder) as lumen:
        lumen.ingestor.ingest([_document("Drink water with a fever.")], collection="knowledge")
        assert lumen.store.get_metadata(SPARSE_KEY) == lumen.bm25.identity
        lumen.store.set_metadata(SPARSE_KEY, "bm25:another-stemmer")
        with pytest.raises(ComponentError, match="re-index"):
            lumen.ingestor.ingest([_document("Rest with a fever.")], collection="knowledge")
