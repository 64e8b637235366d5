"""The runner on a scripted LLM: results schema, reports, resume, fallback, concurrency."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from lumen.documents import Chunk
from lumen.errors import InputError
from lumen.rag.retrieve import RetrievalResult, RetrievedChunk
from lumen.settings import Settings
from lumen_lab.eval.context import EvalContext, RunOptions
from lumen_lab.eval.registry import TaskSpec
from lumen_lab.eval.runner import EvalRunner
from lumen_lab.eval.schema import IndexInfo, RunResults, load_results
from lumen_lab.eval.scoring import ContinuationScore, LogprobsUnavailable

from .conftest import ScriptedLLM, longest_option


def _run(
    settings: Settings, llm: Any, tasks: Sequence[str], out: Path, **options: Any
) -> RunResults:
    runner = EvalRunner(settings, llm=llm, command=["test"])
    return runner.run(list(tasks), RunOptions(out_dir=out, **options))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_run_writes_valid_results_summary_and_plots(
    eval_settings: Settings, scripted_llm: ScriptedLLM, mirage_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    results = _run(eval_settings, scripted_llm, ["mcqa"], out, data=mirage_file)
    task = results.tasks[0]
    cond = task.conditions[0]
    assert cond.condition == "closed-book"
    assert cond.scoring == "loglikelihood"
    assert cond.n == 6
    assert cond.n_computed == 6
    assert cond.n_errors == 0
    assert cond.metrics == {"accuracy": pytest.approx(5 / 6, abs=1e-4), "acc_norm": 0.6667}
    assert cond.subtasks["medqa"]["accuracy"] == 0.8
    assert cond.subtasks["bioasq"]["accuracy"] == 1.0
    assert task.data.sha256
    assert task.data.n_total == 6
    assert results.model.llm == "scripted:test"
    # The written file validates against the schema and matches the returned object.
    assert load_results(out / "results.json") == results
    summary = (out / "summary.md").read_text()
    assert "| mcqa | closed-book | loglikelihood | 6 | accuracy | 0.833 |" in summary
    assert {p.name for p in (out / "plots").iterdir()} == {"accuracy.png", "latency.png"}
    assert len(_lines(out / "items.jsonl")) == 6
    record = cond.items[0]
    assert record.details["logprobs"]
    assert record.prediction == "B"
    assert record.latency_ms > 0


def test_resume_computes_only_new_items(
    eval_settings: Settings, mirage_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    first = ScriptedLLM()
    _run(
        eval_settings,
        first,
        ["mirage_medqa"],
        out,
        data=mirage_file,
        limit=2,
        modes=("closed-book",),
    )
    assert first.score_calls == 2
    second = ScriptedLLM()
    results = _run(
        eval_settings,
        second,
        ["mirage_medqa"],
        out,
        data=mirage_file,
        limit=4,
        modes=("closed-book",),
        resume=True,
    )
    assert second.score_calls == 2
    cond = results.tasks[0].conditions[0]
    assert (cond.n, cond.n_computed, cond.n_resumed) == (4, 2, 2)
    assert [r.item_id for r in cond.items] == ["q1", "q2", "q3", "q4"]
    assert len(_lines(out / "items.jsonl")) == 4


def test_resume_after_an_interruption(
    eval_settings: Settings, mirage_file: Path, tmp_path: Path
) -> None:
    calls = {"n": 0}

    def interrupted(context: str, options: Sequence[str]) -> list[ContinuationScore]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return longest_option(context, options)

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(
            eval_settings,
            ScriptedLLM(scorer=interrupted),
            ["mirage_medqa"],
            out,
            data=mirage_file,
            limit=4,
            modes=("closed-book",),
        )
    assert len(_lines(out / "items.jsonl")) == 2
    assert not (out / "results.json").exists()
    with (out / "items.jsonl").open("a") as handle:
        handle.write('{"task": "mirage_medqa", "condi')  # a line cut short by the interruption
    resumed = ScriptedLLM()
    results = _run(
        eval_settings,
        resumed,
        ["mirage_medqa"],
        out,
        data=mirage_file,
        limit=4,
        modes=("closed-book",),
        resume=True,
    )
    assert resumed.score_calls == 2
    assert results.tasks[0].conditions[0].n_resumed == 2


def test_out_dir_guards(eval_settings: Settings, mirage_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    options: dict[str, Any] = {"data": mirage_file, "limit": 1, "modes": ("closed-book",)}
    _run(eval_settings, ScriptedLLM(), ["mirage_medqa"], out, **options)
    with pytest.raises(InputError, match="already holds a run"):
        _run(eval_settings, ScriptedLLM(), ["mirage_medqa"], out, **options)
    with pytest.raises(InputError, match="its scoring was None, now 'generate'"):
        _run(
            eval_settings,
            ScriptedLLM(),
            ["mirage_medqa"],
            out,
            resume=True,
            scoring="generate",
            **options,
        )
    _run(eval_settings, ScriptedLLM(), ["mirage_medqa"], out, overwrite=True, **options)


def test_no_logprobs_falls_back_to_generation(
    eval_settings: Settings, mirage_file: Path, tmp_path: Path
) -> None:
    def refuse(context: str, options: Sequence[str]) -> list[ContinuationScore]:
        raise LogprobsUnavailable("no logprobs here")

    llm = ScriptedLLM(reply="I believe the answer is B.", scorer=refuse)
    results = _run(
        eval_settings,
        llm,
        ["mirage_medqa"],
        tmp_path / "run",
        data=mirage_file,
        modes=("closed-book",),
    )
    task = results.tasks[0]
    cond = task.conditions[0]
    assert cond.scoring == "generate (fallback: no log-probabilities)"
    assert any("log-likelihood scoring unavailable" in w for w in task.warnings)
    assert [r.prediction for r in cond.items] == ["B"] * 5
    assert cond.metrics["accuracy"] == 0.2
    assert llm.chat_calls == 5
    assert "Options:\nA. amoxicillin" in llm.prompts[-1]


def test_generation_scoring_and_concurrency(
    eval_settings: Settings, mirage_file: Path, tmp_path: Path
) -> None:
    llm = ScriptedLLM(reply="(A)")
    results = _run(
        eval_settings,
        llm,
        ["mcqa"],
        tmp_path / "run",
        data=mirage_file,
        scoring="generate",
        concurrency=3,
    )
    cond = results.tasks[0].conditions[0]
    assert [r.item_id for r in cond.items][:2] == ["medqa/q1", "medqa/q2"]
    assert cond.metrics["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert cond.metrics["unparsed"] == 0.0
    assert llm.chat_calls == 6


def test_pubmedqa_with_and_without_gold_context(eval_settings: Settings, tmp_path: Path) -> None:
    data = {
        "1": {
            "QUESTION": "Does A help?",
            "CONTEXTS": ["A helped in trials."],
            "final_decision": "yes",
        },
        "2": {"QUESTION": "Does B hurt?", "CONTEXTS": ["B was safe."], "final_decision": "no"},
        "3": {"QUESTION": "Is C good?", "CONTEXTS": ["Mixed results."], "final_decision": "maybe"},
    }
    path = tmp_path / "pqal.json"
    path.write_text(json.dumps(data))
    llm = ScriptedLLM()  # the longest option, " maybe", always wins
    results = _run(eval_settings, llm, ["pubmedqa"], tmp_path / "run", data=path)
    task = results.tasks[0]
    assert [c.condition for c in task.conditions] == ["closed-book", "gold-context"]
    for cond in task.conditions:
        assert [r.prediction for r in cond.items] == ["maybe"] * 3
        assert [r.target for r in cond.items] == ["yes", "no", "maybe"]
        assert cond.metrics["accuracy"] == pytest.approx(1 / 3, abs=1e-4)
        assert cond.metrics["macro_f1"] == pytest.approx(1 / 6, abs=1e-4)
    assert any("Context: A helped in trials." in p for p in llm.prompts)
    assert all(p.endswith("Answer (yes, no or maybe):") for p in llm.prompts)
    with pytest.raises(InputError, match="has no mode gold-context"):
        _run(eval_settings, llm, ["mirage_medqa"], tmp_path / "x", modes=("gold-context",))


class _FakeIndex:
    """An index whose rankings are scripted per question."""

    def __init__(self, rankings: dict[str, list[str]]) -> None:
        self.rankings = rankings
        self.info = IndexInfo(path="fake", owned=False, collections=["knowledge"])
        self.modes: list[str] = []

    def retrieve(
        self, question: str, *, collections: Sequence[str], k: int, mode: str
    ) -> RetrievalResult:
        self.modes.append(mode)
        chunks = []
        for position, doc in enumerate(self.rankings[question][:k]):
            chunk = Chunk(
                id=f"{doc}#{position}",
                doc_id=doc,
                collection="knowledge",
                source="t",
                title=doc,
                section="",
                url=f"https://x/{doc}",
                text=f"text of {doc}",
                position=0,
                n_chunks=1,
                doc_hash="h",
            )
            chunks.append(RetrievedChunk(chunk=chunk, score=1.0 / (position + 1)))
        return RetrievalResult(chunks=chunks, query_vector=np.zeros(3), mode="dense")  # type: ignore[arg-type]


def test_retrieval_from_qrels(
    eval_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "qrels"
    folder.mkdir()
    (folder / "qrels.txt").write_text("q1 0 d1 1\nq2 0 https://x/d5 1\nq2 0 d6 1\n")
    (folder / "queries.tsv").write_text("q1\tfirst?\nq2\tsecond?\n")
    index = _FakeIndex({"first?": ["d2", "d1", "d1", "d3"], "second?": ["d5", "d7"]})

    def fake_index(self: EvalContext, spec: TaskSpec, data_path: Path) -> _FakeIndex:
        return index

    monkeypatch.setattr(EvalContext, "index", fake_index)
    results = _run(eval_settings, None, ["retrieval"], tmp_path / "run", data=folder)
    task = results.tasks[0]
    assert [c.condition for c in task.conditions] == ["dense", "bm25", "hybrid"]
    assert index.modes[:2] == ["dense", "dense"]
    assert index.modes[-1] == "hybrid"
    metrics = task.conditions[0].metrics
    # q1: relevant d1 at rank 2 (the second chunk of d1 does not count twice);
    # q2: d5 (matched by URL) at rank 1, d6 never found.
    assert metrics["recall@1"] == pytest.approx((0 + 0.5) / 2)
    assert metrics["recall@5"] == pytest.approx((1 + 0.5) / 2)
    assert metrics["mrr"] == pytest.approx((0.5 + 1) / 2)
    assert task.conditions[0].items[0].prediction == ["d2", "d1", "d3"]
    assert (tmp_path / "run" / "plots" / "retrieval.png").exists()


def fake_safety_eval(sources_dir: Path, triage: Any, answer_fn: Any = None) -> dict[str, Any]:
    assert triage == ("triage", "fake-embedder")
    assert answer_fn is None
    return {"triage": {"macro_f1": 0.75, "labels": ["a"]}, "n": 12, "note": "text"}


def fake_triage(embedder: Any) -> tuple[str, str]:
    return ("triage", embedder.identity)


def test_safety_hook_runs_as_one_item(eval_settings: Settings, tmp_path: Path) -> None:
    from lumen_lab.eval.registry import register_task

    register_task(
        {
            "name": "test_safety_hook",
            "kind": "safety",
            "options": {
                "evaluate": "tests.eval.test_runner:fake_safety_eval",
                "triage": "tests.eval.test_runner:fake_triage",
            },
        },
        replace=True,
    )
    embedder: Any = SimpleNamespace(identity="fake-embedder")
    runner = EvalRunner(eval_settings, embedder=embedder, command=["test"])
    eval_settings.paths.sources_dir.mkdir(parents=True, exist_ok=True)
    results = runner.run(["test_safety_hook"], RunOptions(out_dir=tmp_path / "run"))
    cond = results.tasks[0].conditions[0]
    assert cond.metrics == {"n": 12.0, "triage.macro_f1": 0.75}
    assert cond.items[0].details["note"] == "text"


def test_missing_index_fails_before_the_run_starts(
    eval_settings: Settings, mirage_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with pytest.raises(InputError, match="no Lumen index at"):
        _run(
            eval_settings,
            ScriptedLLM(),
            ["mirage_medqa"],
            out,
            data=mirage_file,
            index_dir=tmp_path / "nowhere",
        )
    assert not out.exists()
    assert not (tmp_path / "nowhere").exists()


def test_corpus_transforms() -> None:
    from lumen.documents import Document, Section
    from lumen_lab.eval.context import _transform

    document = Document(
        id="pubmed:1",
        title="Does X help?",
        url="u",
        source="pubmedqa",
        collection="knowledge",
        sections=(Section("Background", "X is a drug. It is new."), Section("Conclusions", "Yes.")),
    )
    changed = _transform(document, {"retitle": True, "drop_sections": ["Conclusions"]})
    assert changed.title == "X is a drug."
    assert [s.title for s in changed.sections] == ["Background"]
    assert _transform(document, {}) is document
