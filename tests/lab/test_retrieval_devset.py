"""The consumer dev set: held-out documents only, seeded, and never in the reranker's training."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs
from lumen_lab.rerank.config import RerankConfig
from lumen_lab.rerank.data import training_pairs
from lumen_lab.retrieval.consumer import build_dev_set, dev_pairs, read_jsonl, rewrite, write_jsonl
from lumen_lab.retrieval.split import benchmark_pairs, held_out, in_dev_split


@pytest.fixture(scope="module")
def medquad(shared_data: Path) -> Path:
    return shared_data / "medquad"


@pytest.fixture(scope="module")
def pairs(medquad: Path) -> list[QAPair]:
    return list(iter_qa_pairs(medquad))


def test_dev_set_comes_from_dev_documents_only(medquad: Path, tmp_path: Path) -> None:
    items = build_dev_set(dev_pairs(medquad), seed=13, limit=120)
    assert len(items) == 120
    assert all(in_dev_split(item.doc_id) for item in items)
    write_jsonl(items, tmp_path / "dev.jsonl")
    assert list(read_jsonl(tmp_path / "dev.jsonl")) == items
    # Consumer messages are longer than MedQuAD's questions and worded differently.
    longer = sum(len(i.question.split()) > 2 * len(i.original.split()) for i in items)
    assert longer >= 0.8 * len(items)
    assert sum(i.question.lower() != i.original.lower() for i in items) == len(items)


def test_rewriting_is_seeded(pairs: list[QAPair]) -> None:
    pair = next(p for p in pairs if p.qtype == "symptoms" and in_dev_split(p.doc_id))
    assert rewrite(pair, seed=1) == rewrite(pair, seed=1)
    assert len({rewrite(pair, seed=s) for s in range(8)}) > 4


def test_training_pairs_exclude_dev_and_benchmark_documents(
    medquad: Path, pairs: list[QAPair]
) -> None:
    config = RerankConfig()
    training, held = training_pairs(medquad, config)
    assert training
    assert len(training) < len(pairs)
    dev_docs = {p.doc_id for p in pairs if in_dev_split(p.doc_id, share=config.dev_share)}
    bench = benchmark_pairs(pairs, medquad)
    assert 200 <= len(bench) <= 400  # both keyings' draws of 200
    assert dev_docs <= held.doc_ids
    assert {p.doc_id for p in bench} <= held.doc_ids
    for pair in training:
        assert pair.doc_id not in held.doc_ids
        assert pair.url not in held.urls
    # The held-out set is what the dev set and the benchmark are built from.
    assert held == held_out(medquad, share=config.dev_share)
