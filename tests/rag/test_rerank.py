"""The reranker's ONNX export against the training framework, and its fail-closed loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lumen.errors import ComponentError
from lumen.rag.rerank import GRAPH, MANIFEST, TOKENIZER, Reranker
from lumen.rag.retrieve import rerank_chunks

from .helpers import GLAUCOMA, METFORMIN

torch = pytest.importorskip("torch")

QUESTION = "How is glaucoma treated?"
PASSAGES = [
    GLAUCOMA.chunk.embed_text,
    METFORMIN.chunk.embed_text,
    "Open-angle glaucoma is the most common form of glaucoma.",
    "Lactic acidosis is a rare but serious side effect of metformin.",
    "Eye drops that lower the pressure in the eye are the usual first treatment.",
    "The optic nerve is a bundle of more than 1 million nerve fibers.",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A two-layer cross-encoder (MiniLM's real weights) and its int8 export."""
    from lumen_lab.rerank.export import export_onnx
    from lumen_lab.rerank.model import build_model, encode, pair_tokenizer

    model = build_model(2, seed=3).eval()
    # A head along a direction that separates passages, as training makes one; a random head
    # reads mostly noise and says nothing about how faithful the export is.
    with torch.no_grad():
        batch = encode(pair_tokenizer(128), [(QUESTION, p) for p in PASSAGES[:2]])
        hidden = model.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        direction = pooled[0] - pooled[1]
        model.head.weight.copy_(10 * direction / direction.norm())
        model.head.bias.zero_()
    folder = tmp_path_factory.mktemp("reranker")
    export_onnx(model, folder, max_tokens=128, details={"test": True})
    return model, folder


def test_onnx_scores_agree_with_torch(exported) -> None:  # type: ignore[no-untyped-def]
    from lumen_lab.rerank.model import encode, pair_tokenizer

    model, folder = exported
    with torch.no_grad():
        expected = model(**encode(pair_tokenizer(128), [(QUESTION, p) for p in PASSAGES])).numpy()
    got = Reranker(folder, threads=1).score(QUESTION, PASSAGES)
    assert got.shape == (len(PASSAGES),)
    spread = float(expected.max() - expected.min())
    assert spread > 0
    assert float(np.abs(got - expected).max()) < 0.1 * spread + 0.02
    assert float(np.corrcoef(got, expected)[0, 1]) > 0.98


def test_rerank_orders_by_score_and_keeps_k(exported) -> None:  # type: ignore[no-untyped-def]
    _, folder = exported
    reranker = Reranker(folder, threads=1)
    scores = reranker.score(QUESTION, [GLAUCOMA.chunk.embed_text, METFORMIN.chunk.embed_text])
    best = rerank_chunks(QUESTION, [GLAUCOMA, METFORMIN], reranker, k=1)
    assert len(best) == 1
    assert best[0].chunk.id == (GLAUCOMA if scores[0] >= scores[1] else METFORMIN).chunk.id
    assert best[0].score == pytest.approx(float(max(scores)))


def test_manifest_lists_every_file_with_its_checksum(exported) -> None:  # type: ignore[no-untyped-def]
    _, folder = exported
    manifest = json.loads((folder / MANIFEST).read_text())
    assert set(manifest["files"]) == {GRAPH, TOKENIZER}
    assert manifest["max_tokens"] == 128


@pytest.mark.parametrize(
    "damage", ["missing graph", "altered graph", "altered tokenizer", "no manifest"]
)
def test_loading_fails_closed(exported, tmp_path: Path, damage: str) -> None:  # type: ignore[no-untyped-def]
    _, folder = exported
    copy = tmp_path / "reranker"
    shutil.copytree(folder, copy)
    if damage == "missing graph":
        (copy / GRAPH).unlink()
    elif damage == "altered graph":
        data = bytearray((copy / GRAPH).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (copy / GRAPH).write_bytes(bytes(data))
    elif damage == "altered tokenizer":
        (copy / TOKENIZER).write_text((copy / TOKENIZER).read_text() + " ")
    else:
        (copy / MANIFEST).unlink()
    with pytest.raises(ComponentError):
        Reranker(copy, threads=1)


def test_turning_rerank_on_without_a_model_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="no reranker model"):
        Reranker(tmp_path / "absent", threads=1)


def test_the_retriever_reranks_its_best_candidates(  # type: ignore[no-untyped-def]
    exported, embedder, shared_data: Path, tmp_path: Path
) -> None:
    from lumen.factory import build_lumen
    from lumen.ingest.loaders import get_loader
    from lumen.rag.retrieve import Retriever
    from lumen.settings import Settings

    folder = tmp_path / "medquad"
    folder.mkdir()
    for name in ("7_SeniorHealth_QA/0000027.xml", "3_GHR_QA/0000311.xml"):
        shutil.copy(shared_data / "medquad" / name, folder / name.replace("/", "-"))
    settings = Settings(paths={"data_dir": tmp_path / "data", "sources_dir": shared_data})
    _, model_dir = exported
    reranker = Reranker(model_dir, threads=1)
    with build_lumen(settings, embedder=embedder) as lumen:
        docs = get_loader("medquad").load(folder, collection="knowledge", report=lambda p, m: None)
        lumen.ingestor.ingest(docs, collection="knowledge")
        retriever = Retriever(
            lumen.store, embedder, lumen.bm25, reranker=reranker, rerank_candidates=6
        )
        fused = retriever.retrieve(QUESTION, collections=["knowledge"], k=6, rerank=False)
        reranked = retriever.retrieve(QUESTION, collections=["knowledge"], k=3)
    assert len(fused.chunks) == 6
    assert len(reranked.chunks) == 3
    logits = reranker.score(QUESTION, [c.chunk.embed_text for c in fused.chunks])
    best = sorted(range(6), key=lambda i: float(logits[i]), reverse=True)[:3]
    assert [c.chunk.id for c in reranked.chunks] == [fused.chunks[i].chunk.id for i in best]
    assert [c.score for c in reranked.chunks] == pytest.approx([float(logits[i]) for i in best])
