"""FDA regulatory Markdown with YAML front matter: statute, regulations, guidance, letters.

One document per file, split into sections by heading (``#`` .. ``###``), each titled by its
heading path. The FD&C Act sections, 21 CFR parts and guidance documents keep their front
matter under ``source:``; complete response letters (CRLs) keep free-form fields at the top
level and are sometimes wrapped in a code fence. Documents from CRL folders (or with CRL
fields) get the source ``crl``, the others ``fda``.

Ids and ``file:`` URLs are relative to the ``regulatory`` folder when the files lie under one,
so ingesting ``regulatory/`` or ``regulatory/fda/`` gives the same ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lumen.documents import REGULATORY, Document, Section
from lumen.ingest.loaders.base import Report, list_files, read_text, relative_name, scalar_metadata
from lumen.ingest.loaders.markdown import first_heading, split_front_matter, split_sections

logger = logging.getLogger(__name__)

_ANCHOR = "regulatory"
_CRL_FIELDS = frozenset(
    {"application_number", "response_type", "complete_response_date", "nda", "bla_number"}
)
# Conversion details of the source files, not facts about the documents.
_NOISE_FIELDS = frozenset({"converted", "method", "source_file", "path", "chunk_type"})
_URL_FIELDS = ("url", "source_url", "link", "href")
_TRAILING_HASH = re.compile(r"[-_][a-z0-9]{6}$")


def _is_readme(file: Path) -> bool:
    return "readme" in file.stem.lower()


def _anchored(file: Path, root: Path) -> str:
    """``file`` relative to the last ``regulatory`` folder above it, else to ``root``."""
    parts = file.parts[:-1]
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == _ANCHOR:
            return Path(*file.parts[index + 1 :]).as_posix()
    return relative_name(file, root)


def _flatten(front: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields, with those of a nested ``source:`` mapping lifted up one level."""
    flat: dict[str, Any] = {}
    for key, value in front.items():
        if isinstance(value, dict) and key == "source":
            for inner, item in value.items():
                flat.setdefault(str(inner), item)
        else:
            flat[str(key)] = value
    return flat


def _text_field(fields: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return " ".join(str(value).split())
    return ""


def _sentence_case(text: str) -> str:
    return text.capitalize() if text.isupper() else text


def _fda_title(fields: Mapping[str, Any]) -> str:
    """``21 U.S.C. § 351 - Adulterated drugs and devices``, ``21 CFR Part 800 - General``."""
    chunk_id = _text_field(fields, "chunk_id")
    chunk_title = _sentence_case(_text_field(fields, "chunk_title"))
    if chunk_id:
        instrument = _text_field(fields, "instrument")
        if chunk_id.lower().startswith(("part ", "subpart ")) and instrument:
            chunk_id = f"{instrument} {chunk_id}"
        return f"{chunk_id} - {chunk_title}" if chunk_title else chunk_id
    return _text_field(fields, "title")


def _crl_title(fields: Mapping[str, Any]) -> str:
    """``Complete response letter: SoluPrep (NDA 208288), 3M Health Care``."""
    if _text_field(fields, "title"):
        return _text_field(fields, "title")
    product = _text_field(
        fields,
        "proprietary_name",
        "product_name",
        "drug_name",
        "product",
        "drug",
        "proposed_product",
        "device_name",
    )
    number = _text_field(
        fields, "application_number", "nda", "nda_number", "bla_number", "bl_number"
    )
    kind = _text_field(fields, "application_type", "submission_type")
    if number and kind and len(kind) <= 4 and kind.upper() not in number.upper():
        number = f"{kind} {number}"
    sponsor = _text_field(fields, "sponsor", "applicant", "applicant_name", "company_name")
    if not (product or number):
        return ""
    label = product or number
    if product and number:
        label = f"{product} ({number})"
    return f"Complete response letter: {label}" + (f", {sponsor}" if sponsor else "")


def _url(fields: Mapping[str, Any], relative: str) -> str:
    for key in _URL_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and re.match(r"https?://\S+$", value.strip()):
            return value.strip()
    return f"file:regulatory/{relative}"


class RegulatoryLoader:
    """FD&C Act sections, 21 CFR parts, FDA guidance and complete response letters."""

    name = "regulatory"
    sources: tuple[str, ...] = ("fda", "crl")
    default_collection = REGULATORY
    default_subpath = "regulatory"

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """One document per Markdown file under ``path`` (README files are skipped)."""
        for file in list_files(path, (".md", ".markdown"), report):
            if _is_readme(file) and file != path:
                logger.debug("skipping %s", file)
                continue
            text = read_text(file, report)
            if text is None:
                continue
            document = self._document(file, path, text, collection)
            if document is None:
                report(file, "no text")
                continue
            yield document

    def _document(self, file: Path, root: Path, text: str, collection: str) -> Document | None:
        front = split_front_matter(text)
        if front.problem:
            logger.info("%s: %s; read its simple fields only", file, front.problem)
        fields = _flatten(front.data)
        relative = _anchored(file, root)
        is_letter = any(part.lower().startswith("complete_response") for part in file.parts) or (
            "source" not in front.data and bool(_CRL_FIELDS & set(fields))
        )
        title = _crl_title(fields) if is_letter else _fda_title(fields)
        title = title or first_heading(front.body) or _file_title(file)
        sections = [
            Section(title=heading, text=body)
            for heading, body in split_sections(front.body, max_level=3, title=title)
        ]
        if not sections:
            return None
        metadata: dict[str, Any] = {
            "kind": "complete_response_letter" if is_letter else _kind(fields),
            **scalar_metadata({k: v for k, v in fields.items() if k not in _NOISE_FIELDS}),
        }
        return Document(
            id=f"regulatory:{relative.rsplit('.', 1)[0]}",
            title=title,
            url=_url(fields, relative),
            source="crl" if is_letter else "fda",
            collection=collection,
            sections=tuple(sections),
            metadata=metadata,
        )


def _kind(fields: Mapping[str, Any]) -> str:
    family = _text_field(fields, "family").lower()
    return {"statute": "statute", "regulation": "regulation", "guidance": "guidance"}.get(
        family, "document"
    )


def _file_title(file: Path) -> str:
    """A title from a file name: ``001_cybersecurity_in_x`` -> ``Cybersecurity in x``."""
    stem = _TRAILING_HASH.sub("", file.stem) if "-" in file.stem else file.stem
    stem = re.sub(r"^\d+[_-]", "", stem)
    words = " ".join(re.split(r"[_]+", stem)).strip()
    return words[:1].upper() + words[1:] if words else file.stem
