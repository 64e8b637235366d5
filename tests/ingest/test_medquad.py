"""The MedQuAD loader on the real upstream XML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from lumen.errors import InputError
from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.medquad import QAPair, iter_qa_pairs

from .conftest import Problems

SENIOR = "7_SeniorHealth_QA"


def answered_in_xml(path: Path) -> list[tuple[str, str]]:
    """(qid, question) of the answered pairs, read independently of the loader."""
    root = etree.parse(str(path)).getroot()
    pairs = []
    for pair in root.iter("QAPair", "pair"):
        question = pair.find("Question")
        if question is None:
            question = pair.find("question")
        answer = pair.find("Answer")
        if answer is None:
            answer = pair.find("answer")
        if answer is not None and "".join(answer.itertext()).strip():
            pairs.append((question.get("qid"), " ".join("".join(question.itertext()).split())))
    return pairs


def test_one_collection_matches_the_xml(sources_dir: Path, problems: Problems) -> None:
    folder = sources_dir / "medquad" / SENIOR
    docs = list(get_loader("medquad").load(folder, collection="knowledge", report=problems))
    assert not problems
    files = sorted(folder.glob("*.xml"))
    expected = {f.stem: answered_in_xml(f) for f in files}
    assert len(docs) == sum(1 for pairs in expected.values() if pairs)
    for document in docs:
        stem = document.id.rsplit("/", 1)[1]
        assert document.id == f"medquad:NIHSeniorHealth/{stem}"
        pairs = expected[stem]
        assert [s.title for s in document.sections] == [q for _, q in pairs]
        assert document.metadata["qa_ids"] == [qid for qid, _ in pairs]
        assert document.metadata["medquad_collection"] == SENIOR
        assert len(document.metadata["qtypes"]) == len(pairs)
        assert document.source == "medquad"
        assert document.collection == "knowledge"
        assert all(s.text.strip() for s in document.sections)

    glaucoma = next(d for d in docs if d.id == "medquad:NIHSeniorHealth/0000027")
    root = etree.parse(str(folder / "0000027.xml")).getroot()
    assert glaucoma.url == root.get("url") == "http://nihseniorhealth.gov/glaucoma/toc.html"
    assert glaucoma.title == "Glaucoma"
    assert glaucoma.sections[0].title == "What is (are) Glaucoma ?"
    assert "optic nerve" in glaucoma.sections[0].text


def test_all_answered_pairs(sources_dir: Path, problems: Problems) -> None:
    pairs = list(iter_qa_pairs(sources_dir / "medquad", problems))
    assert not problems
    # 16,407 pairs in <Document>/<DiseaseFile> files (MedQuAD's documented count), plus 16
    # in four NINDS files written in the lower-case <doc>/<pair>/<answer> variant.
    assert len(pairs) == 16_423
    standard = list(iter_qa_pairs(sources_dir / "medquad", include_variants=False))
    assert len(standard) == 16_407
    variant = {(p.doc_id, p.qid) for p in pairs} - {(p.doc_id, p.qid) for p in standard}
    assert {doc_id for doc_id, _ in variant} == {
        f"medquad:NINDS/{n}" for n in ("0000007", "0000018", "0000182", "0000244")
    }
    assert pairs == sorted(pairs, key=lambda p: (p.file_name, p.qid, p.doc_id))
    assert len({(p.doc_id, p.qid) for p in pairs}) == len(pairs)
    assert all(p.question and p.answer.strip() and p.url for p in pairs)
    first = pairs[0]
    assert isinstance(first, QAPair)
    assert first.file_name.endswith(".xml")


def test_document_ids_are_unique(sources_dir: Path, problems: Problems) -> None:
    docs = list(
        get_loader("medquad").load(sources_dir / "medquad", collection="knowledge", report=problems)
    )
    assert not problems
    assert len({d.id for d in docs}) == len(docs) > 5000
    assert sum(len(d.sections) for d in docs) == 16_423
    # Upstream reuses Document@id across collections (and within CancerGov): ids do not.
    assert sum(d.id.endswith("/0000004") for d in docs) >= 5
    holmes = next(d for d in docs if d.id == "medquad:NINDS/0000007")
    assert holmes.title == "Holmes-Adie"
    assert len(holmes.sections) == 4


def test_without_questions_no_question_text_is_indexed(
    sources_dir: Path, problems: Problems
) -> None:
    folder = sources_dir / "medquad" / SENIOR
    loader = get_loader("medquad", include_questions=False)
    docs = list(loader.load(folder, collection="knowledge", report=problems))
    questions = {p.question for p in iter_qa_pairs(folder)}
    assert questions
    assert docs
    for document in docs:
        for section in document.sections:
            assert section.title not in questions
            assert section.title.startswith(f"{document.title}: ")
            assert "?" not in section.title
            assert not any(q in section.text for q in questions if len(q) > 30)
    glaucoma = next(d for d in docs if d.id.endswith("/0000027"))
    assert glaucoma.sections[0].title == "Glaucoma: overview"
    assert "Glaucoma: symptoms" in {s.title for s in glaucoma.sections}


def test_inline_bullets_become_lines(sources_dir: Path, problems: Problems) -> None:
    path = sources_dir / "medquad" / "1_CancerGov_QA" / "0000001_1.xml"
    (document,) = get_loader("medquad").load(path, collection="knowledge", report=problems)
    text = document.sections[0].text
    assert text.startswith("Key Points\n- Adult acute lymphoblastic leukemia (ALL) is a type")
    assert "  " not in text


def test_malformed_files_are_reported_and_skipped(
    sources_dir: Path, tmp_path: Path, problems: Problems
) -> None:
    shutil.copy(sources_dir / "medquad" / SENIOR / "0000027.xml", tmp_path / "0000027.xml")
    (tmp_path / "bad.xml").write_text("<Document><QAPairs>", encoding="utf-8")
    (tmp_path / "other.xml").write_text("<rss><channel/></rss>", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not XML, not read", encoding="utf-8")
    docs = list(get_loader("medquad").load(tmp_path, collection="knowledge", report=problems))
    assert [d.id for d in docs] == ["medquad:NIHSeniorHealth/0000027"]
    assert sorted(problems.names) == ["bad.xml", "other.xml"]
    messages = dict(zip(problems.names, (m for _, m in problems), strict=True))
    assert messages["bad.xml"].startswith("malformed XML")
    assert "not a MedQuAD file" in messages["other.xml"]
    assert "\n" not in messages["bad.xml"]

    problems.clear()
    assert (
        list(get_loader("medquad").load(tmp_path / "bad.xml", collection="k", report=problems))
        == []
    )
    assert problems.names == ["bad.xml"]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        list(get_loader("medquad").load(tmp_path / "nope", collection="k", report=Problems()))
    with pytest.raises(InputError):
        list(iter_qa_pairs(tmp_path / "nope"))
