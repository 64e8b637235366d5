"""MedQuAD's upstream XML: one document per file, one section per answered question.

Three layouts occur in the upstream files and all are read: ``<Document id source url>`` (most
files), ``<DiseaseFile fid source url>`` (a CDC file) and a lower-case variant
``<doc docid corpus url>`` with ``<doctitle-focus>``, ``<qaPairs>``, ``<pair>``, ``<question>``
and ``<answer>`` (four NINDS files).

The upstream ``Document@id`` is not unique (the same number recurs in every collection, and
some CancerGov files share one), so a document's id is ``medquad:<publisher>/<file stem>``,
e.g. ``medquad:NIHSeniorHealth/0000027``; it does not depend on where the files are kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from lumen.documents import KNOWLEDGE, Document, Section
from lumen.ingest.loaders.base import Report, list_files
from lumen.ingest.loaders.phenotypes import render_phenotype_tables
from lumen.textutil import normalize_whitespace, sentence_spans, split_fused_heading

logger = logging.getLogger(__name__)

#: Question types shown as headings when the question text is not indexed.
_QTYPE_HEADINGS = {"information": "overview"}
# MedQuAD writes lists inline: "text.    - item    - item".
_INLINE_BULLET = re.compile(r"\s{2,}-[ \t]+")
# ... and headings inline, set off by two or more spaces: "Symptoms of Glaucoma  Glaucoma can".
_INLINE_BREAK = re.compile(r"[ \t]{2,}")
_WORD = re.compile(r"[a-z0-9]+")
# A numbered bibliography entry: "1. Kaler, SG. The neurology of ... Nature Reviews Neurology,
# 2001:7:15-19." (NINDS research answers end with them): a title, not answer text.
_REFERENCE_LINE = re.compile(
    r"^\d{1,3}\.\s+[A-Z][\w'\-]+,?\s+(?:[A-Z]{1,3}\b|[A-Z]\.)[^\n]*\b(?:19|20)\d{2}\b"
)
#: Share of an opening question's words that must come from the pair's question or focus for
#: the opening to count as the question restated (GARD answers open with their question).
_RESTATED = 0.6
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


@dataclass(frozen=True)
class QAPair:
    """One answered MedQuAD question."""

    file_name: str
    qid: str
    question: str
    answer: str
    url: str
    doc_id: str
    qtype: str = ""
    focus: str = ""
    relative_path: str = ""
    """The XML file's path under the MedQuAD folder (file names recur across collections)."""
    body: str = ""
    """The answer as indexed: headings on their own lines, no restated question."""


@dataclass(frozen=True)
class _Parsed:
    """One MedQuAD file."""

    doc_id: str
    publisher: str
    url: str
    focus: str
    pairs: tuple[QAPair, ...]
    variant: bool  # the lower-case <doc> layout


def clean_answer(text: str) -> str:
    """An answer's text with MedQuAD's inline bullets on their own lines, whitespace tidied."""
    return normalize_whitespace(_INLINE_BULLET.sub("\n- ", text))


def answer_body(raw: str, *, question: str, focus: str) -> str:
    """The answer as Lumen indexes it: lists and inline or fused headings on their own lines.

    An opening question that names the focus or restates the pair's question ("What are the
    signs and symptoms of X?", "How might X be treated?", as GARD writes) is dropped: the
    question is the section's title, not answer text. GARD's flattened symptom tables become
    sentences (:mod:`lumen.ingest.loaders.phenotypes`), and numbered bibliography entries are
    left out.
    """
    raw = render_phenotype_tables(raw)
    text = normalize_whitespace(_INLINE_BREAK.sub("\n", _INLINE_BULLET.sub("\n- ", raw)))
    line, newline, rest = text.partition("\n")
    spans = sentence_spans(line)
    if spans and line[spans[0][1] - 1] == "?":
        opening = line[: spans[0][1]].lower()
        words = _WORD.findall(opening)
        known = set(_WORD.findall(f"{question} {focus}".lower()))
        names_focus = bool(focus) and focus.lower() in opening
        if words and (names_focus or sum(w in known for w in words) >= _RESTATED * len(words)):
            text = (line[spans[0][1] :].strip() + newline + rest).strip()
    text = "\n".join(line for line in text.split("\n") if not _REFERENCE_LINE.match(line.strip()))
    return _unfuse_headings(text.strip())


def _unfuse_headings(text: str) -> str:
    """Put headings fused onto the next sentence ("Tests for Glaucoma Glaucoma is") on a line."""
    out: list[str] = []
    position = 0
    for start, end in sentence_spans(text):
        heading, rest = split_fused_heading(text[start:end])
        if heading:
            out.append(text[position:start])
            out.append(f"{heading}\n{rest}")
            position = end
    out.append(text[position:])
    return "".join(out)


def _tag(element: etree._Element) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""


def _child(element: etree._Element, *names: str) -> etree._Element | None:
    for child in element:
        if _tag(child) in names:
            return child
    return None


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext())


def parse_file(path: Path) -> _Parsed:
    """Parse one MedQuAD XML file; raises ValueError with a one-line reason."""
    try:
        root = etree.parse(str(path), _PARSER).getroot()
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"malformed XML: {exc}") from None
    except OSError as exc:
        raise ValueError(f"cannot read: {exc}") from None
    if _tag(root) not in ("document", "diseasefile", "doc"):
        raise ValueError(f"not a MedQuAD file (root element <{root.tag}>)")
    publisher = (root.get("source") or root.get("corpus") or path.parent.name).strip()
    doc_id = f"medquad:{publisher}/{path.stem}"
    url = (root.get("url") or "").strip() or f"file:medquad/{path.parent.name}/{path.name}"
    focus = " ".join(_text(_child(root, "focus", "doctitle-focus")).split())
    container = _child(root, "qapairs")
    pairs: list[QAPair] = []
    for number, pair in enumerate(container if container is not None else (), start=1):
        if _tag(pair) not in ("qapair", "pair"):
            continue
        question = _child(pair, "question")
        raw = _text(_child(pair, "answer"))
        answer = clean_answer(raw)
        if not answer:
            continue
        qid = question.get("qid") if question is not None else None
        question_text = " ".join(_text(question).split())
        pairs.append(
            QAPair(
                file_name=path.name,
                qid=qid or f"{path.stem}-{pair.get('pid') or number}",
                question=question_text,
                answer=answer,
                url=url,
                doc_id=doc_id,
                qtype=(question.get("qtype") or "") if question is not None else "",
                focus=focus,
                body=answer_body(raw, question=question_text, focus=focus) or answer,
            )
        )
    return _Parsed(doc_id, publisher, url, focus, tuple(pairs), _tag(root) == "doc")


def iter_qa_pairs(
    root: Path, report: Report | None = None, *, include_variants: bool = True
) -> Iterator[QAPair]:
    """Every answered QA pair in the XML files under ``root``, by file name, then qid.

    The whole upstream set has 16,423: 16,407 in ``<Document>``/``<DiseaseFile>`` files (the
    count MedQuAD's documentation gives) and 16 in four NINDS files of the ``<doc>`` layout,
    which ``include_variants=False`` leaves out. Unreadable files are reported (or logged when
    ``report`` is None) and skipped; a missing ``root`` raises InputError.
    """
    pairs: list[QAPair] = []
    for path in list_files(root, (".xml",), report):
        try:
            parsed = parse_file(path)
            if include_variants or not parsed.variant:
                where = path.relative_to(root).as_posix()
                pairs.extend(replace(pair, relative_path=where) for pair in parsed.pairs)
        except ValueError as exc:
            if report is not None:
                report(path, str(exc))
            else:
                logger.warning("skipped %s: %s", path, exc)
    pairs.sort(key=lambda p: (p.file_name, p.qid, p.doc_id))
    yield from pairs


class MedQuADLoader:
    """MedQuAD XML into the knowledge collection."""

    name = "medquad"
    sources: tuple[str, ...] = ("medquad",)
    default_collection = KNOWLEDGE
    default_subpath = "medquad"

    def __init__(self, *, include_questions: bool = True) -> None:
        """``include_questions=False`` titles sections by focus and question type instead."""
        self.include_questions = include_questions

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """One document per XML file with at least one answered question."""
        for file in list_files(path, (".xml",), report):
            try:
                parsed = parse_file(file)
            except ValueError as exc:
                report(file, str(exc))
                continue
            if not parsed.pairs:
                logger.debug("%s: no answered questions", file)
                continue
            title = parsed.focus or file.stem
            yield Document(
                id=parsed.doc_id,
                title=title,
                url=parsed.url,
                source=self.name,
                collection=collection,
                sections=tuple(
                    Section(title=self._heading(title, pair), text=pair.body or pair.answer)
                    for pair in parsed.pairs
                ),
                metadata={
                    "medquad_collection": file.parent.name,
                    "publisher": parsed.publisher,
                    "qa_ids": [pair.qid for pair in parsed.pairs],
                    "qtypes": [pair.qtype for pair in parsed.pairs],
                },
            )

    def _heading(self, focus: str, pair: QAPair) -> str:
        if self.include_questions and pair.question:
            return pair.question
        qtype = _QTYPE_HEADINGS.get(pair.qtype, pair.qtype) or "overview"
        return f"{focus}: {qtype}"
