"""Loaders on the real shared files, and on small bad files made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen.errors import InputError
from lumen.ingest.loaders import LOADERS, get_loader
from lumen.ingest.loaders.medquad import iter_qa_pairs


class Problems(list[tuple[Path, str]]):
    def __call__(self, path: Path, message: str) -> None:
        self.append((path, message))


def test_medquad_documents_match_the_xml(shared_data: Path) -> None:
    problems = Problems()
    folder = shared_data / "medquad" / "7_SeniorHealth_QA"
    docs = list(get_loader("medquad").load(folder, collection="knowledge", report=problems))
    assert not problems
    assert len(docs) == len(list(folder.glob("*.xml")))
    glaucoma = next(d for d in docs if d.id == "medquad:0000027")
    assert glaucoma.title == "Glaucoma"
    assert glaucoma.url.startswith("http")
    assert glaucoma.collection == "knowledge" and glaucoma.source == "medquad"
    assert glaucoma.sections[0].title == "What is (are) Glaucoma ?"
    assert "optic nerve" in glaucoma.text


def test_medquad_has_16407_answered_pairs(shared_data: Path) -> None:
    pairs = list(iter_qa_pairs(shared_data / "medquad"))
    assert len(pairs) == 16407
    assert pairs == sorted(pairs, key=lambda p: (p.file_name, p.qid))
    # A few upstream files use <doc>/<DiseaseFile> variants: loaded too, on request.
    assert len(list(iter_qa_pairs(shared_data / "medquad", include_variants=True))) > 16407


def test_medquad_without_questions_indexes_no_question_text(shared_data: Path) -> None:
    folder = shared_data / "medquad" / "7_SeniorHealth_QA"
    loader = get_loader("medquad", include_questions=False)
    docs = list(loader.load(folder, collection="knowledge", report=Problems()))
    questions = {p.question for p in iter_qa_pairs(folder)}
    for doc in docs:
        for section in doc.sections:
            assert section.title not in questions
            assert section.title.startswith(doc.title)


def test_pubmedqa_loads_both_files_without_labels(shared_data: Path) -> None:
    problems = Problems()
    docs = list(
        get_loader("pubmedqa").load(
            shared_data / "pubmedqa", collection="knowledge", report=problems
        )
    )
    assert not problems
    assert len(docs) == 1000
    assert len({d.id for d in docs}) == 1000
    doc = docs[0]
    assert doc.id.startswith("pubmed:")
    assert doc.url == f"https://pubmed.ncbi.nlm.nih.gov/{doc.id.split(':')[1]}/"
    assert any(s.title == "Conclusions" for s in doc.sections)
    # The yes/no/maybe label is never indexed.
    assert "final_decision" not in doc.text
    assert all("final_decision" not in str(d.metadata) for d in docs)


def test_openfda_labels_both_shapes(shared_data: Path) -> None:
    problems = Problems()
    loader = get_loader("drugs")
    labels = list(
        loader.load(
            shared_data / "drugs" / "openfda_labels" / "abacavir.json",
            collection="drugs",
            report=problems,
        )
    )
    raw = list(
        loader.load(
            shared_data / "drugs" / "openfda_raw" / "metformin.json",
            collection="drugs",
            report=problems,
        )
    )
    assert not problems
    (abacavir,) = labels
    assert abacavir.metadata["set_id"] == "01e46f58-8bda-4ff3-ab21-57d5b540d440"
    assert abacavir.url.endswith("setid=01e46f58-8bda-4ff3-ab21-57d5b540d440")
    assert "ABACAVIR" in abacavir.metadata["generic_names"]
    titles = [s.title for s in abacavir.sections]
    assert "Abacavir - Drug interactions" in titles
    table = next(s for s in abacavir.sections if s.title.endswith("(table)"))
    assert "<td" not in table.text and " | " in table.text
    (metformin,) = raw
    assert any("Dosage and administration" in s.title for s in metformin.sections)
    assert all(s.text.strip() for s in metformin.sections)


def test_all_drug_labels_load(shared_data: Path) -> None:
    problems = Problems()
    docs = list(
        get_loader("drugs").load(shared_data / "drugs", collection="drugs", report=problems)
    )
    assert len(docs) >= 900
    # A few labels in the set carry no text at all: reported, not fatal.
    assert len(problems) <= 5
    assert all(message == "no label sections with text" for _, message in problems)


def test_regulatory_front_matter_and_headings(shared_data: Path) -> None:
    problems = Problems()
    folder = shared_data / "regulatory" / "fda" / "02-regulation"
    docs = list(get_loader("regulatory").load(folder, collection="regulatory", report=problems))
    assert not problems
    part = next(d for d in docs if d.id.endswith("part-890"))
    assert part.title == "Part 890 - PHYSICAL MEDICINE DEVICES"
    assert part.metadata["instrument"] == "21 CFR"
    assert any(" > " in s.title and "Subpart A" in s.title for s in part.sections)
    letters = list(
        get_loader("regulatory").load(
            shared_data / "regulatory" / "complete_response_letters",
            collection="regulatory",
            report=problems,
        )
    )
    assert letters and all(d.title.startswith("Complete response letter") for d in letters)
    assert "```" not in letters[0].text


def test_generic_files(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    (tmp_path / "notes.jsonl").write_text(
        '{"id": "a", "title": "Fever", "text": "Drink fluids.", "url": "https://example.org/a"}\n'
        "{not json}\n"
        '{"title": "Empty"}\n'
    )
    (tmp_path / "guide.md").write_text(
        "---\ntitle: Guide\n---\n# Rest\nSleep well.\n## More\nNap.\n"
    )
    (tmp_path / "plain.txt").write_text("Wash your hands.")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Page</title><script>alert(1)</script></head>"
        "<body><h1>Heat</h1><p>Stay cool.</p></body></html>"
    )
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with (tmp_path / "blank.pdf").open("wb") as handle:
        writer.write(handle)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    problems = Problems()
    docs = {
        d.id: d for d in get_loader("files").load(tmp_path, collection="notes", report=problems)
    }
    assert set(docs) == {"file:notes.jsonl#a", "file:guide.md", "file:plain.txt", "file:page.html"}
    assert docs["file:notes.jsonl#a"].url == "https://example.org/a"
    assert docs["file:guide.md"].title == "Guide"
    assert [s.title for s in docs["file:guide.md"].sections] == ["Rest", "Rest > More"]
    assert "alert" not in docs["file:page.html"].text
    assert docs["file:page.html"].sections[0].title == "Heat"
    reported = {(p.name, m.split(":")[0]) for p, m in problems}
    assert ("notes.jsonl", "line 2") in reported and ("notes.jsonl", "line 3") in reported
    assert any(p.name == "broken.pdf" for p, _ in problems)
    assert any(p.name == "blank.pdf" for p, _ in problems)


def test_malformed_files_are_reported_and_skipped(tmp_path: Path, shared_data: Path) -> None:
    good = shared_data / "medquad" / "7_SeniorHealth_QA" / "0000027.xml"
    (tmp_path / "good.xml").write_bytes(good.read_bytes())
    (tmp_path / "bad.xml").write_text("<Document><QAPairs>")
    problems = Problems()
    docs = list(get_loader("medquad").load(tmp_path, collection="knowledge", report=problems))
    assert [d.id for d in docs] == ["medquad:0000027"]
    assert [p.name for p, _ in problems] == ["bad.xml"]
    assert "malformed XML" in problems[0][1]

    (tmp_path / "bad.json").write_text("{")
    problems.clear()
    assert (
        list(get_loader("pubmedqa").load(tmp_path / "bad.json", collection="k", report=problems))
        == []
    )
    assert "malformed JSON" in problems[0][1]


def test_missing_path_and_unknown_source(tmp_path: Path) -> None:
    for name in LOADERS:
        with pytest.raises(InputError, match="not found"):
            list(get_loader(name).load(tmp_path / "missing", collection="c", report=Problems()))
    with pytest.raises(InputError, match="medquad"):
        get_loader("nope")
