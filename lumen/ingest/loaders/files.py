"""Generic files into a collection the user names: JSONL, Markdown, text, HTML and PDF."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from lumen.documents import Document, Section
from lumen.ingest.loaders.base import Report, files_under, read_text
from lumen.ingest.loaders.markdown import split_by_headings, split_front_matter

logger = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
_TEXT_FIELDS = ("text", "content", "body")


class FilesLoader:
    """Files or folders of common formats, dispatched by suffix."""

    name = "files"
    default_collection = "documents"
    default_subpath = ""

    def __init__(self, *, text_field: str | None = None) -> None:
        self.text_field = text_field

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every supported file under ``path`` (ids are paths relative to ``path``)."""
        root = path if path.is_dir() else path.parent
        for file in files_under(path, SUFFIXES):
            relative = file.relative_to(root).as_posix()
            suffix = file.suffix.lower()
            if suffix == ".jsonl":
                yield from self._jsonl(file, relative, collection, report)
                continue
            if suffix == ".pdf":
                sections, title = _pdf(file, report)
            else:
                text = read_text(file, report)
                if text is None:
                    continue
                if suffix in (".html", ".htm"):
                    sections, title = _html(text)
                elif suffix == ".txt":
                    sections, title = [Section("", text)] if text.strip() else [], ""
                else:
                    front, body = split_front_matter(text)
                    sections = split_by_headings(body)
                    title = str(front.get("title") or "")
            if not sections:
                if suffix != ".pdf":
                    report(file, "no text")
                continue
            yield Document(
                id=f"file:{relative}",
                title=title or (sections[0].title if sections[0].title else file.stem),
                url=f"file:{relative}",
                source=self.name,
                collection=collection,
                sections=tuple(sections),
                metadata={"path": relative},
            )

    def _jsonl(
        self, file: Path, relative: str, collection: str, report: Report
    ) -> Iterator[Document]:
        text = read_text(file, report)
        if text is None:
            return
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record: Any = json.loads(line)
            except json.JSONDecodeError as exc:
                report(file, f"line {number}: malformed JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                report(file, f"line {number}: expected an object")
                continue
            fields = (self.text_field,) if self.text_field else _TEXT_FIELDS
            body = next((record[f] for f in fields if isinstance(record.get(f), str)), None)
            if not body or not body.strip():
                report(file, f"line {number}: no text field ({', '.join(fields)})")
                continue
            key = str(record.get("id") or number)
            title = str(record.get("title") or f"{file.stem} #{key}")
            yield Document(
                id=f"file:{relative}#{key}",
                title=title,
                url=str(record.get("url") or f"file:{relative}#{key}"),
                source=self.name,
                collection=collection,
                sections=(Section("", body),),
                metadata={"path": relative, "line": number},
            )


def _html(text: str) -> tuple[list[Section], str]:
    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    body = soup.body or soup
    sections: list[Section] = []
    heading = ""
    buffer: list[str] = []

    def flush() -> None:
        content = "\n".join(t for t in buffer if t)
        if content.strip():
            sections.append(Section(heading, content))
        buffer.clear()

    for element in body.find_all(["h1", "h2", "h3", "p", "li", "td", "pre", "blockquote"]):
        if element.name in ("h1", "h2", "h3"):
            flush()
            heading = element.get_text(" ", strip=True)
        elif not element.find_parent(["li", "td", "blockquote"]) or element.name == "li":
            buffer.append(element.get_text(" ", strip=True))
    flush()
    if not sections:
        plain = body.get_text("\n", strip=True)
        if plain:
            sections.append(Section("", plain))
    return sections, title


def _pdf(file: Path, report: Report) -> tuple[list[Section], str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(file))
        if reader.is_encrypted:
            report(file, "encrypted PDF")
            return [], ""
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else ""
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        report(file, f"unreadable PDF: {exc}")
        return [], ""
    sections = [Section(f"Page {n}", text) for n, text in enumerate(pages, start=1) if text.strip()]
    if not sections:
        report(file, "PDF has no extractable text")
    return sections, title
