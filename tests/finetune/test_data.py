"""Prepared data: a stable split by hashed id, no test leakage, fields checked."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from lumen.errors import InputError
from lumen_lab.finetune.config import DataOptions, Recipe
from lumen_lab.finetune.data import (
    Example,
    balance_labels,
    check_no_leakage,
    collect,
    deduplicate,
    pubmedqa_examples,
    read_split,
    split_of,
)


def test_split_is_deterministic_and_proportional() -> None:
    options = DataOptions(validation_fraction=0.1, test_fraction=0.2)
    ids = [f"pubmedqa:{n}" for n in range(4000)]
    first = [split_of(i, options) for i in ids]
    assert first == [split_of(i, options) for i in ids]
    share = {name: first.count(name) / len(ids) for name in ("train", "validation", "test")}
    assert share["test"] == pytest.approx(0.2, abs=0.03)
    assert share["validation"] == pytest.approx(0.1, abs=0.03)
    salted = [split_of(i, DataOptions(split_salt="other")) for i in ids]
    assert salted != first


def test_split_does_not_depend_on_the_other_items(tiny_recipe: Recipe) -> None:
    splits = collect(tiny_recipe)
    for name, examples in splits.items():
        for example in examples:
            assert split_of(example.id, tiny_recipe.data) == name


def test_collect_twice_gives_the_same_split_and_no_test_item_in_training(
    tiny_recipe: Recipe,
) -> None:
    first = collect(tiny_recipe)
    second = collect(tiny_recipe)
    assert {k: [e.id for e in v] for k, v in first.items()} == {
        k: [e.id for e in v] for k, v in second.items()
    }
    test_pmids = {e.id for e in first["test"] if e.source == "pubmedqa"}
    assert test_pmids, "the tiny set should hold PubMedQA test items"
    trained = {e.id for name in ("train", "validation") for e in first[name]}
    assert not test_pmids & trained
    sources = {e.source for e in first["train"]}
    assert sources == {"pubmedqa", "medquad"}


def test_leakage_is_caught() -> None:
    item = Example("pubmedqa:1", "pubmedqa", "Does it work?", [("t", "x")], "Yes.", "yes")
    twin = Example("pubmedqa:2", "pubmedqa", "Does  it work?", [("t", "x")], "Yes.", "yes")
    with pytest.raises(AssertionError, match="leaked into train"):
        check_no_leakage({"train": [twin], "validation": [], "test": [item]})


def test_deduplicate_keeps_one_per_question() -> None:
    a = Example("medquad:b/1", "medquad", "What is (are) Glaucoma ?", [("t", "x")], "x")
    b = Example("medquad:a/1", "medquad", "what is (are) glaucoma?", [("t", "y")], "y")
    kept = deduplicate([a, b])
    assert [e.id for e in kept] == ["medquad:a/1"]


def test_balance_labels_repeats_the_rarer_labels() -> None:
    def item(n: int, label: str | None) -> Example:
        source = "pubmedqa" if label else "medquad"
        return Example(f"{source}:{n}", source, f"Q{n}?", [("t", "x")], "A.", label)

    examples = [item(n, "yes") for n in range(5)] + [item(5, "no"), item(6, "no"), item(7, "maybe")]
    examples.append(item(8, None))
    balanced = balance_labels(examples)
    labels = [e.label for e in balanced]
    assert labels.count("yes") == labels.count("no") == labels.count("maybe") == 5
    assert labels.count(None) == 1
    ids = [e.id for e in balanced]
    assert len(set(ids)) == len(ids)
    assert "pubmedqa:7~5" in ids
    assert "pubmedqa:5~3" in ids
    assert "pubmedqa:6~2" in ids
    assert balance_labels([item(1, None)]) == [item(1, None)]


def test_collect_balances_only_the_training_split(tiny_recipe: Recipe) -> None:
    import dataclasses

    plain = collect(tiny_recipe)
    recipe = dataclasses.replace(
        tiny_recipe, data=dataclasses.replace(tiny_recipe.data, balance_labels=True)
    )
    balanced = collect(recipe)
    counts = {
        label: sum(e.label == label for e in balanced["train"]) for label in ("yes", "no", "maybe")
    }
    assert len(set(counts.values())) == 1, counts
    assert len(balanced["train"]) > len(plain["train"])
    for name in ("validation", "test"):
        assert [e.id for e in balanced[name]] == [e.id for e in plain[name]]


def test_pubmedqa_without_long_answer_stops(tmp_path: Path) -> None:
    path = tmp_path / "pqal.json"
    path.write_text(
        json.dumps(
            {"1": {"QUESTION": "Q?", "CONTEXTS": ["c"], "LABELS": ["R"], "final_decision": "yes"}}
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="record '1': field 'LONG_ANSWER' is missing"):
        pubmedqa_examples(path)


def test_pubmedqa_bad_label_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "pqal.json"
    path.write_text(
        json.dumps({"1": {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "perhaps"}}),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="final_decision"):
        pubmedqa_examples(path)


def test_prepared_split_missing_fields(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"id": "x", "prompt": "p"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1 lacks field\\(s\\) source, split, completion"):
        read_split(path)
    with pytest.raises(InputError, match="run 'lumen finetune prepare' first"):
        read_split(tmp_path / "absent.jsonl")


def test_cli_prepare_writes_splits_and_manifest(
    ft_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from typer.testing import CliRunner

    from lumen.cli.main import app

    from .conftest import tiny_mapping

    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path / "lumen-data"))
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_mapping(ft_sources, tmp_path / "run")))
    result = CliRunner().invoke(app, ["finetune", "prepare", str(recipe)])
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "run" / "data" / "manifest.json").read_text())
    assert set(manifest["splits"]) == {"train", "validation", "test"}
    total = sum(split["count"] for split in manifest["splits"].values())
    assert total == sum(
        len((tmp_path / "run" / "data" / f"{name}.jsonl").read_text().splitlines())
        for name in manifest["splits"]
    )
    for name in manifest["splits"]:
        for line in (tmp_path / "run" / "data" / f"{name}.jsonl").read_text().splitlines():
            record = json.loads(line)
            assert record["split"] == name
            assert record["messages"][-1]["role"] == "assistant"
            if record["source"] == "pubmedqa":
                assert record["completion"].split(".")[0].lower() == record["label"]


def _passage(doc: str, n: int = 0) -> Any:
    from lumen.documents import Chunk
    from lumen.rag.retrieve import RetrievedChunk

    chunk = Chunk(
        id=f"{doc}#{n}",
        doc_id=doc,
        collection="knowledge",
        source="pubmedqa",
        title=f"title of {doc}",
        section="",
        url="",
        text=f"text of {doc}",
        position=n,
        n_chunks=1,
        doc_hash="",
    )
    return RetrievedChunk(chunk, score=1.0)


def test_retrieved_passages_skip_excluded_documents_and_cite_the_own_abstract() -> None:
    from lumen_lab.finetune.passages import with_retrieved_passages

    asked: list[tuple[str, int, set[str]]] = []

    def search(question: str, k: int, excluded: Collection[str] = ()) -> list[Any]:
        asked.append((question, k, set(excluded)))
        hits = {
            "found?": ["pubmed:9", "pubmed:1", "pubmed:8", "pubmed:7"],
            "missed?": ["pubmed:9", "pubmed:8", "pubmed:7", "pubmed:2"],
        }[question]
        return [_passage(doc) for doc in hits if doc not in excluded][:k]

    examples = [
        Example(
            "pubmedqa:1", "pubmedqa", "found?", [("t", "a")], "Yes.", "yes", meta={"pmid": "1"}
        ),
        Example("pubmedqa:2", "pubmedqa", "missed?", [("t", "b")], "No.", "no", meta={"pmid": "2"}),
        Example("medquad:x", "medquad", "found?", [("t", "c")], "c"),
    ]
    found, missed, medquad = with_retrieved_passages(
        examples, search, share=1.0, k=2, excluded={"pubmed:9"}
    )
    assert found.meta["retrieved"] == ["pubmed:1", "pubmed:8"]  # pubmed:9 (test) left out
    assert found.sources == [
        ("title of pubmed:1", "text of pubmed:1"),
        ("title of pubmed:8", "text of pubmed:8"),
    ]
    assert found.cite == 1
    assert asked == [("found?", 2, {"pubmed:9"}), ("missed?", 2, {"pubmed:9"})]
    assert missed == examples[1]  # its abstract was not retrieved: it keeps the gold one
    assert medquad == examples[2]
    assert with_retrieved_passages(examples, search, share=0.0, k=2, excluded=set()) == examples


def test_retrieved_share_picks_a_stable_proportion() -> None:
    from lumen_lab.finetune.passages import picked_for_retrieval

    ids = [f"pubmedqa:{n}" for n in range(2000)]
    picked = [i for i in ids if picked_for_retrieval(i, 0.5)]
    assert 0.45 < len(picked) / len(ids) < 0.55
    assert picked == [i for i in ids if picked_for_retrieval(i, 0.5)]
    assert not any(picked_for_retrieval(i, 0.0) for i in ids)
    assert all(picked_for_retrieval(i, 1.0) for i in ids)


def test_cli_prepare_shows_retrieved_passages_from_the_pqal_index(
    ft_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from typer.testing import CliRunner

    from lumen.cli.main import app

    from .conftest import tiny_mapping

    monkeypatch.setenv("LUMEN_PATHS__DATA_DIR", str(tmp_path / "lumen-data"))
    mapping = tiny_mapping(ft_sources, tmp_path / "run")
    mapping["data"].update(retrieved_share=1.0, retrieved_k=2, max_context_tokens=160)
    mapping["train"]["max_length"] = 384  # room for two passages titled by long first sentences
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(mapping))
    result = CliRunner().invoke(app, ["finetune", "prepare", str(recipe)])
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "run" / "data"
    manifest = json.loads((folder / "manifest.json").read_text())
    records = {
        name: [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines()]
        for name in manifest["splits"]
    }
    test_docs = {f"pubmed:{r['pmid']}" for r in records["test"] if r["source"] == "pubmedqa"}
    # the second held-out set's abstracts (MIRAGE's PubMedQA questions) are indexed too
    heldout = json.loads((ft_sources / "pubmedqa" / "pqal_test_abstracts.json").read_text())
    test_docs |= {f"pubmed:{pmid}" for pmid in heldout}
    assert test_docs
    assert not any("retrieved" in r for r in records["test"])
    assert manifest["splits"]["test"]["retrieved_passages"] == 0
    for name in ("train", "validation"):
        shown = [r for r in records[name] if "retrieved" in r]
        assert manifest["splits"][name]["retrieved_passages"] == len(shown)
        pubmedqa = [r for r in records[name] if r["source"] == "pubmedqa"]
        assert len(shown) >= 0.8 * len(pubmedqa) > 0  # the own abstract is nearly always found
        for record in shown:
            docs = record["retrieved"]
            own = f"pubmed:{record['pmid']}"
            assert own in docs
            assert len(docs) == len(set(docs)) <= 2
            assert not test_docs & set(docs)
            assert record["n_sources"] == len(docs)
            assert re.findall(r"\[(\d+)\]", record["completion"])[-1] == str(docs.index(own) + 1)
    assert (tmp_path / "run" / "index").is_dir()  # where evaluate's retrieved condition looks


def test_retrieval_for_training_excludes_both_held_out_sets(
    tiny_recipe: Recipe, ft_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    import dataclasses

    from lumen_lab.finetune import passages
    from lumen_lab.finetune.prepare import retrieve_passages

    seen: list[set[str]] = []

    def record(examples: list[Example], search: Any, **options: Any) -> list[Example]:
        seen.append(options["excluded"])
        return examples

    monkeypatch.setattr(passages, "with_retrieved_passages", record)
    monkeypatch.setattr(passages, "pqal_search", lambda *a: contextlib.nullcontext(None))
    recipe = dataclasses.replace(
        tiny_recipe, data=dataclasses.replace(tiny_recipe.data, retrieved_share=0.5)
    )
    splits = collect(recipe)
    retrieve_passages(splits, recipe, ft_sources / "unused")
    mirage = json.loads((ft_sources / "mirage" / "benchmark_dev.json").read_text())["pubmedqa"]
    expected = {f"pubmed:{e.meta['pmid']}" for e in splits["test"] if e.source == "pubmedqa"}
    expected |= {f"pubmed:{pmid}" for pmid in mirage}
    assert len(seen) == 2
    assert all(excluded == expected for excluded in seen)
