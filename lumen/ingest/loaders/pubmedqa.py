"""PubMedQA in the upstream ``ori_pqal`` JSON: one document per abstract (labels never indexed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lumen.documents import KNOWLEDGE, Document, Section
from lumen.ingest.loaders.base import Report, files_under, read_text
from lumen.textutil import split_sentences


def pubmed_url(pmid: str) -> str:
    """The PubMed page of an article."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def _title(record: dict[str, Any], contexts: list[str]) -> str:
    question = record.get("QUESTION")
    if isinstance(question, str) and question.strip():
        return question.strip()
    first = split_sentences(contexts[0])[0] if contexts and contexts[0].strip() else "Abstract"
    return first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "..."


def _document(pmid: str, record: Any, collection: str, source: str) -> Document:
    if not isinstance(record, dict):
        raise ValueError(f"record {pmid}: expected an object")
    contexts = record.get("CONTEXTS")
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise ValueError(f"record {pmid}: field CONTEXTS must be a list of strings")
    labels = record.get("LABELS") or []
    sections = [
        Section(title=str(labels[i]).title() if i < len(labels) else "", text=text)
        for i, text in enumerate(contexts)
        if text.strip()
    ]
    conclusion = record.get("LONG_ANSWER")
    if isinstance(conclusion, str) and conclusion.strip():
        sections.append(Section(title="Conclusions", text=conclusion))
    meshes = record.get("MESHES") or []
    return Document(
        id=f"pubmed:{pmid}",
        title=_title(record, contexts),
        url=pubmed_url(pmid),
        source=source,
        collection=collection,
        sections=tuple(sections),
        metadata={"pmid": pmid, "year": str(record.get("YEAR") or ""), "meshes": meshes[:10]},
    )


class PubMedQALoader:
    """PubMedQA abstracts into the knowledge collection."""

    name = "pubmedqa"
    default_collection = KNOWLEDGE
    default_subpath = "pubmedqa"

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every record of every ``*.json`` file under ``path``."""
        for file in files_under(path, (".json",)):
            text = read_text(file, report)
            if text is None:
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                report(file, f"malformed JSON: {exc.msg} at line {exc.lineno}")
                continue
            if not isinstance(data, dict):
                report(file, "expected an object of PubMed ids")
                continue
            for pmid, record in data.items():
                try:
                    yield _document(str(pmid), record, collection, self.name)
                except ValueError as exc:
                    report(file, str(exc))
