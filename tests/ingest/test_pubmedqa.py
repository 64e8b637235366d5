"""The PubMedQA loader on the real PQA-L files."""

from __future__ import annotations

import json
from pathlib import Path

from lumen.ingest.loaders import get_loader

from .conftest import Problems


def load(path: Path, problems: Problems, **options: bool) -> list:  # type: ignore[type-arg]
    return list(
        get_loader("pubmedqa", **options).load(path, collection="knowledge", report=problems)
    )


def test_both_files_without_labels(sources_dir: Path, problems: Problems) -> None:
    folder = sources_dir / "pubmedqa"
    dev = json.loads((folder / "pqal_dev.json").read_text(encoding="utf-8"))
    test = json.loads((folder / "pqal_test_abstracts.json").read_text(encoding="utf-8"))
    docs = load(folder, problems)
    assert not problems
    assert len(docs) == len(dev) + len(test) == 1000
    assert len({d.id for d in docs}) == 1000
    by_id = {d.id: d for d in docs}
    for pmid, record in {**dev, **test}.items():
        document = by_id[f"pubmed:{pmid}"]
        assert document.url == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        assert document.source == "pubmedqa"
        assert document.collection == "knowledge"
        texts = [s.text for s in document.sections]
        assert texts == [c for c in record["CONTEXTS"] if c.strip()] + [record["LONG_ANSWER"]]
        assert [s.title for s in document.sections][-1] == "Conclusions"
        assert document.sections[0].title.lower() == record["LABELS"][0].lower()
        assert document.metadata["meshes"] == record["MESHES"][:10]
        assert set(document.metadata) == {"pmid", "year", "meshes"}
        if "QUESTION" in record:
            assert document.title == " ".join(record["QUESTION"].split())
        else:
            assert 0 < len(document.title) <= 121
            assert record["CONTEXTS"][0].startswith(document.title.rstrip("\u2026"))
    # The yes/no/maybe label and the reasoning predictions are not indexed anywhere.
    for pmid, record in dev.items():
        document = by_id[f"pubmed:{pmid}"]
        indexed = f"{document.title}\n{document.text}\n{document.metadata}"
        assert "final_decision" not in indexed
        assert "reasoning" not in indexed
        assert record["final_decision"] not in document.metadata.values()


def test_one_file_and_options(sources_dir: Path, problems: Problems) -> None:
    path = sources_dir / "pubmedqa" / "pqal_dev.json"
    questions = {r["QUESTION"] for r in json.loads(path.read_text(encoding="utf-8")).values()}
    docs = load(path, problems, include_questions=False, include_conclusions=False)
    assert len(docs) == 500
    assert not problems
    assert not {d.title for d in docs} & questions
    assert all(s.title != "Conclusions" for d in docs for s in d.sections)


def test_malformed_json_is_reported(tmp_path: Path, problems: Problems) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "good.json").write_text(
        json.dumps(
            {
                "1": {"CONTEXTS": ["Aspirin helps."], "LABELS": ["RESULTS"], "LONG_ANSWER": "Yes."},
                "2": {"CONTEXTS": "not a list"},
            }
        ),
        encoding="utf-8",
    )
    docs = load(tmp_path, problems)
    assert [d.id for d in docs] == ["pubmed:1"]
    assert docs[0].title == "Aspirin helps."
    assert [(s.title, s.text) for s in docs[0].sections] == [
        ("Results", "Aspirin helps."),
        ("Conclusions", "Yes."),
    ]
    assert sorted(problems.names) == ["bad.json", "good.json", "list.json"]
    messages = {p.name: m for p, m in problems}
    assert messages["bad.json"].startswith("malformed JSON")
    assert messages["good.json"] == "PMID 2: CONTEXTS is not a list of strings"

    problems.clear()
    assert load(tmp_path / "bad.json", problems) == []
    assert problems.names == ["bad.json"]
