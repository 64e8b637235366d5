"""MedQuAD's upstream XML: one document per file, one section per answered question."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from lumen.documents import KNOWLEDGE, Document, Section
from lumen.ingest.loaders.base import Report, files_under

logger = logging.getLogger(__name__)

_QTYPE_HEADINGS = {
    "information": "Overview",
    "symptoms": "Symptoms",
    "causes": "Causes",
    "treatment": "Treatment",
    "prevention": "Prevention",
    "outlook": "Outlook",
    "exams and tests": "Exams and tests",
    "susceptibility": "Who is at risk",
    "frequency": "How common",
    "inheritance": "Inheritance",
    "genetic changes": "Genetic changes",
    "research": "Research",
    "complications": "Complications",
    "stages": "Stages",
    "considerations": "Considerations",
    "support groups": "Support",
}


@dataclass(frozen=True)
class QAPair:
    """One answered MedQuAD question."""

    file_name: str
    qid: str
    question: str
    answer: str
    qtype: str
    url: str
    doc_id: str


@dataclass(frozen=True)
class _ParsedFile:
    doc_id: str
    source: str
    url: str
    focus: str
    pairs: list[QAPair]
    standard: bool


def _child(element: Any, *names: str) -> Any:
    """The first child whose tag is one of ``names``, ignoring case (upstream files vary)."""
    wanted = {n.lower() for n in names}
    return next((c for c in element if isinstance(c.tag, str) and c.tag.lower() in wanted), None)


def _children(element: Any, *names: str) -> list[Any]:
    wanted = {n.lower() for n in names}
    return [c for c in element if isinstance(c.tag, str) and c.tag.lower() in wanted]


def _parse(path: Path) -> _ParsedFile:
    """Parse one MedQuAD XML file; raises ValueError with a one-line reason.

    Besides ``<Document>``, a few upstream files use ``<doc>`` (NINDS) or ``<DiseaseFile>`` (CDC)
    with lower-case element names; all three are read.
    """
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, OSError) as exc:
        raise ValueError(f"malformed XML: {exc}") from exc
    doc = root.getroot()
    if doc.tag.lower() not in ("document", "doc", "diseasefile"):
        raise ValueError(f"not a MedQuAD document (root element <{doc.tag}>)")
    raw_id = doc.get("id") or doc.get("docid") or doc.get("fid") or path.stem
    doc_id = f"medquad:{raw_id}"
    url = doc.get("url") or f"file:medquad/{path.parent.name}/{path.name}"
    focus_element = _child(doc, "Focus", "doctitle-focus")
    focus = " ".join((focus_element.text or "").split()) if focus_element is not None else ""
    pairs = []
    container = _child(doc, "QAPairs")
    for pair in _children(container, "QAPair", "pair") if container is not None else []:
        question = _child(pair, "Question")
        answer_element = _child(pair, "Answer")
        answer = (answer_element.text or "") if answer_element is not None else ""
        if question is None or not answer.strip():
            continue
        pairs.append(
            QAPair(
                file_name=path.name,
                qid=question.get("qid") or f"{raw_id}-{pair.get('pid')}",
                question=" ".join((question.text or "").split()),
                answer=answer.strip(),
                qtype=question.get("qtype") or "information",
                url=url,
                doc_id=doc_id,
            )
        )
    publisher = doc.get("source") or doc.get("corpus") or ""
    return _ParsedFile(doc_id, publisher, url, focus, pairs, standard=doc.tag != "doc")


def iter_qa_pairs(root: Path, *, include_variants: bool = False) -> Iterator[QAPair]:
    """Every answered QA pair under ``root``, sorted by file name, then question id.

    By default the NINDS files in the lower-case ``<doc>`` variant are left out (16,407 pairs in the
    full set), which is the list that benchmark protocols sample from.
    """
    pairs: list[QAPair] = []
    for path in files_under(root, (".xml",)):
        try:
            parsed = _parse(path)
        except ValueError:
            logger.warning("skipping unreadable MedQuAD file %s", path)
            continue
        if include_variants or parsed.standard:
            pairs.extend(parsed.pairs)
    yield from sorted(pairs, key=lambda p: (p.file_name, p.qid))


class MedQuADLoader:
    """MedQuAD XML into the knowledge collection."""

    name = "medquad"
    default_collection = KNOWLEDGE
    default_subpath = "medquad"

    def __init__(self, *, include_questions: bool = True) -> None:
        self.include_questions = include_questions

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """One document per XML file with at least one answered question."""
        for file in files_under(path, (".xml",)):
            try:
                parsed = _parse(file)
            except ValueError as exc:
                report(file, str(exc))
                continue
            if not parsed.pairs:
                continue
            title = parsed.focus or file.stem
            sections = tuple(
                Section(title=self._heading(title, pair), text=pair.answer) for pair in parsed.pairs
            )
            yield Document(
                id=parsed.doc_id,
                title=title,
                url=parsed.url,
                source=self.name,
                collection=collection,
                sections=sections,
                metadata={
                    "medquad_collection": file.parent.name,
                    "publisher": parsed.source,
                    "qtypes": sorted({p.qtype for p in parsed.pairs}),
                },
            )

    def _heading(self, focus: str, pair: QAPair) -> str:
        if self.include_questions:
            return pair.question
        return f"{focus}: {_QTYPE_HEADINGS.get(pair.qtype, pair.qtype.capitalize())}"
