"""Every task kind on a small slice through the real parts: MiniLM, Qdrant edge, SmolLM2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lumen.settings import Settings
from lumen_lab.eval.context import RunOptions
from lumen_lab.eval.runner import EvalRunner
from lumen_lab.eval.schema import RunResults, load_results

from ..corpus import medquad_subset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Small copies of the shared datasets in the layout of paths.sources_dir."""
    root = tmp_path_factory.mktemp("eval-sources")
    medquad_subset(shared_data, root)
    pubmedqa = root / "pubmedqa"
    pubmedqa.mkdir()
    for name, count in (("pqal_dev.json", 4), ("pqal_test_abstracts.json", 6)):
        data = json.loads((shared_data / "pubmedqa" / name).read_text(encoding="utf-8"))
        subset = dict(list(data.items())[:count])
        (pubmedqa / name).write_text(json.dumps(subset), encoding="utf-8")
    (root / "mirage").mkdir()
    shutil.copy(shared_data / "mirage" / "benchmark_dev.json", root / "mirage")
    return root


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-work")


@pytest.fixture(scope="module")
def settings(sources: Path, work: Path) -> Settings:
    # Short prompts and answers keep the suite fast on two cores.
    return Settings(
        paths={"data_dir": work / "data", "sources_dir": sources},
        llm={"max_answer_tokens": 48, "max_context_tokens": 160},
    )


def _run(
    settings: Settings, embedder: Any, llm: Any, tasks: list[str], **options: Any
) -> RunResults:
    runner = EvalRunner(settings, embedder=embedder, llm=llm, command=["test"])
    results = runner.run(tasks, RunOptions(**options))
    assert load_results(options["out_dir"] / "results.json") == results
    return results


@pytest.fixture(scope="module")
def medquad_index(settings: Settings, embedder: Any, work: Path) -> Path:
    """A MedQuAD index built by the retrieval task (questions left out of the text)."""
    index = work / "medquad-index"
    results = _run(
        settings,
        embedder,
        None,
        ["retrieval_medquad"],
        out_dir=work / "retrieval-medquad",
        limit=3,
        index_dir=index,
    )
    task = results.tasks[0]
    assert [c.condition for c in task.conditions] == ["dense", "bm25", "hybrid"]
    assert task.index is not None
    assert task.index.owned
    assert task.index.include_questions is False
    assert "questions are not in the indexed text" in task.index.note
    assert task.index.documents
    assert task.index.documents >= 3
    for cond in task.conditions:
        assert cond.n == 3
        assert cond.n_errors == 0
        assert all(0.0 <= (v or 0.0) <= 1.0 for v in cond.metrics.values())
    assert task.conditions[2].metrics["recall@10"] == pytest.approx(1.0)
    return index


def test_retrieval_pubmedqa(settings: Settings, embedder: Any, work: Path) -> None:
    results = _run(
        settings, embedder, None, ["retrieval_pubmedqa"], out_dir=work / "retrieval-pubmedqa"
    )
    task = results.tasks[0]
    assert task.data.n_total == 4
    assert task.index is not None
    assert task.index.documents == 10
    hybrid = task.conditions[-1]
    assert hybrid.condition == "hybrid"
    assert hybrid.metrics["recall@5"] == 1.0
    assert (work / "retrieval-pubmedqa" / "plots" / "retrieval.png").is_file()


def test_mirage_closed_book_and_rag(
    settings: Settings, embedder: Any, llm: Any, work: Path, medquad_index: Path
) -> None:
    out = work / "mirage"
    results = _run(
        settings,
        embedder,
        llm,
        ["mirage_pubmedqa", "mirage_bioasq"],
        out_dir=out,
        limit=1,
        index_dir=medquad_index,
        extra={"k": 2},
    )
    assert [t.name for t in results.tasks] == ["mirage_pubmedqa", "mirage_bioasq"]
    for task in results.tasks:
        assert [c.condition for c in task.conditions] == ["closed-book", "rag:hybrid"]
        for cond in task.conditions:
            assert cond.n == 1
            assert cond.n_errors == 0
            assert cond.scoring == "loglikelihood"
            item = cond.items[0]
            assert item.prediction in item.details["logprobs"]
            assert all(v < 0 for v in item.details["logprobs"].values())
        rag = task.conditions[1].items[0]
        assert rag.details["context_chunks"]
        assert rag.values["gold_doc_in_context"] == 0.0  # the MedQuAD index has no PubMed
        assert task.index is not None
        assert not task.index.owned
    assert results.model.llm.startswith("llama_cpp:SmolLM2")
    assert (out / "plots" / "accuracy.png").is_file()
    summary = (out / "summary.md").read_text()
    assert "| mirage_bioasq | rag:hybrid | loglikelihood | 1 |" in summary


def test_pubmedqa_three_ways(settings: Settings, embedder: Any, llm: Any, work: Path) -> None:
    results = _run(
        settings,
        embedder,
        llm,
        ["pubmedqa"],
        out_dir=work / "pubmedqa",
        limit=2,
        modes=("closed-book", "gold-context", "rag"),
        extra={"gold_context_tokens": 160, "k": 2},
    )
    task = results.tasks[0]
    assert [c.condition for c in task.conditions] == ["closed-book", "gold-context", "rag:hybrid"]
    for cond in task.conditions:
        assert cond.n == 2
        assert cond.n_errors == 0
        assert {r.prediction for r in cond.items} <= {"yes", "no", "maybe"}
        assert cond.metrics["macro_f1"] is not None
    assert task.index is not None
    assert task.index.owned
    assert "sections left out: Conclusions" in task.index.note
    gold = task.conditions[1].items[0]
    assert gold.details["context"] == "gold"
    assert task.conditions[2].metrics["gold_doc_in_context"] is not None


def test_grounding_through_the_pipeline(
    settings: Settings, embedder: Any, llm: Any, work: Path, medquad_index: Path
) -> None:
    results = _run(
        settings,
        embedder,
        llm,
        ["grounding_medquad"],
        out_dir=work / "grounding",
        limit=1,
        index_dir=medquad_index,
    )
    task = results.tasks[0]
    assert task.index is not None
    assert task.index.owned
    assert task.index.added == 0
    cond = task.conditions[0]
    assert cond.condition == "rag:hybrid"
    assert cond.n == 1
    assert cond.n_errors == 0
    metrics = cond.metrics
    assert metrics["abstention_rate"] is not None
    if metrics["abstention_rate"] < 1.0:
        assert metrics["citation_validity"] == 1.0
        assert metrics["cited_sentences"] == 1.0
        assert metrics["token_f1"] is not None
        assert 0.0 <= metrics["token_f1"] <= 1.0
        assert metrics["rouge_l"] is not None
