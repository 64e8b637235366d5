"""PubMedQA in the upstream ``ori_pqal`` JSON: one document per abstract.

``{pmid: {QUESTION?, CONTEXTS[], LABELS[], MESHES[], YEAR, final_decision?, LONG_ANSWER}}``.
Each context becomes a section titled by its label (``Background``, ``Methods`` ...) and the
long answer a ``Conclusions`` section. The yes/no/maybe label (``final_decision``) and the
reasoning predictions are never indexed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lumen.documents import KNOWLEDGE, Document, Section
from lumen.ingest.loaders.base import Report, list_files, read_text
from lumen.textutil import split_sentences

logger = logging.getLogger(__name__)

_TITLE_CHARS = 120


def pubmed_url(pmid: str) -> str:
    """The PubMed page of an article."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def _label(value: Any) -> str:
    """``MATERIALS AND METHODS`` -> ``Materials and methods``."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text.capitalize() if text.isupper() else text


def _short_title(text: str) -> str:
    """The first sentence of ``text``, cut at a word to about 120 characters."""
    sentences = split_sentences(text)
    first = sentences[0] if sentences else ""
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[: _TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut}\u2026"


class PubMedQALoader:
    """PubMedQA abstracts (PQA-L dev and test) into the knowledge collection."""

    name = "pubmedqa"
    sources: tuple[str, ...] = ("pubmedqa",)
    default_collection = KNOWLEDGE
    default_subpath = "pubmedqa"

    def __init__(self, *, include_questions: bool = True, include_conclusions: bool = True):
        """Options decide whether the question (as title) and the long answer are indexed.

        With ``include_questions=False`` the title is the abstract's first sentence even where
        a question exists, so that question-to-abstract retrieval is not trivial.
        """
        self.include_questions = include_questions
        self.include_conclusions = include_conclusions

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every record of ``path`` (a JSON file, or a folder: every ``*.json`` below it)."""
        seen: set[str] = set()
        for file in list_files(path, (".json",), report):
            data = self._read(file, report)
            if data is None:
                continue
            for pmid, record in data.items():
                pmid = str(pmid).strip()
                if pmid in seen:
                    logger.debug("%s: PMID %s already loaded", file, pmid)
                    continue
                try:
                    document = self._document(pmid, record, collection)
                except ValueError as exc:
                    report(file, f"PMID {pmid}: {exc}")
                    continue
                seen.add(pmid)
                yield document

    @staticmethod
    def _read(file: Path, report: Report) -> Mapping[str, Any] | None:
        text = read_text(file, report)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            report(file, f"malformed JSON: {exc.msg} (line {exc.lineno})")
            return None
        if not isinstance(data, dict):
            report(file, "not PubMedQA JSON: expected an object keyed by PMID")
            return None
        return data

    def _document(self, pmid: str, record: Any, collection: str) -> Document:
        if not isinstance(record, dict):
            raise ValueError("the record is not an object")
        contexts = record.get("CONTEXTS")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise ValueError("CONTEXTS is not a list of strings")
        labels = record.get("LABELS")
        labels = labels if isinstance(labels, list) else []
        sections = [
            Section(title=_label(labels[i]) if i < len(labels) else "", text=text)
            for i, text in enumerate(contexts)
            if text.strip()
        ]
        conclusion = record.get("LONG_ANSWER")
        if self.include_conclusions and isinstance(conclusion, str) and conclusion.strip():
            sections.append(Section(title="Conclusions", text=conclusion))
        if not sections:
            raise ValueError("no abstract text")
        question = record.get("QUESTION")
        if self.include_questions and isinstance(question, str) and question.strip():
            title = " ".join(question.split())
        else:
            title = _short_title(sections[0].text) or f"PubMed {pmid}"
        meshes = record.get("MESHES")
        year = record.get("YEAR")
        return Document(
            id=f"pubmed:{pmid}",
            title=title,
            url=pubmed_url(pmid),
            source=self.name,
            collection=collection,
            sections=tuple(sections),
            metadata={
                "pmid": pmid,
                "year": str(year).strip() if year else "",
                "meshes": [str(m) for m in meshes[:10]] if isinstance(meshes, list) else [],
            },
        )
