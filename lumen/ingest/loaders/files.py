"""Generic files into a collection the user names: JSONL, Markdown, text, HTML and PDF.

A file or a folder (recursively) is read, each file by its suffix; files of other types in a
folder are skipped (counted at debug level). Document ids are ``file:<path relative to the
given root>``, so re-ingesting the same folder updates the same documents. JSONL gives one
document per line, its id from the ``id`` field (else ``file:<path>#<line>``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from lumen.documents import KNOWLEDGE, Document, Section
from lumen.ingest.loaders.base import Report, list_files, read_text, relative_name, scalar_metadata
from lumen.ingest.loaders.markdown import (
    HeadingPath,
    first_heading,
    split_front_matter,
    split_sections,
)
from lumen.textutil import normalize_whitespace, unwrap_lines

logger = logging.getLogger(__name__)

#: The suffixes read, and the format each is read as.
FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
DEFAULT_TEXT_FIELDS = ("text", "content", "body")

_HTML_SKIPPED = frozenset(
    {"script", "style", "nav", "noscript", "template", "svg", "iframe", "head", "button"}
)
_HTML_BLOCKS = frozenset(
    """
    address article aside blockquote body caption dd div dl dt fieldset figcaption figure footer
    form h4 h5 h6 header hr li main ol p pre section table tbody tfoot thead ul
    """.split()
)
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3}
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_SPACE = re.compile(r"\s+")

_Parsed = tuple[str, list[Section], dict[str, Any]]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "\u2026"


class FilesLoader:
    """Files or folders of common formats, dispatched by suffix."""

    name = "files"
    sources: tuple[str, ...] = ("files",)
    default_collection = KNOWLEDGE
    default_subpath = ""

    def __init__(
        self,
        *,
        text_field: str | None = None,
        title_field: str = "title",
        url_field: str = "url",
        id_field: str = "id",
    ) -> None:
        """JSONL field names; ``text_field`` None tries ``text``, ``content`` and ``body``."""
        self.text_fields = (text_field,) if text_field else DEFAULT_TEXT_FIELDS
        self.title_field = title_field
        self.url_field = url_field
        self.id_field = id_field

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every supported file under ``path``; a bad file (or JSONL line) is reported."""
        skipped = 0
        seen: set[str] = set()
        for file in list_files(path, None, report):
            kind = FORMATS.get(file.suffix.lower())
            if kind is None:
                if file == path:
                    known = ", ".join(sorted(FORMATS))
                    report(file, f"unsupported file type {file.suffix or '(none)'}: use {known}")
                skipped += 1
                continue
            relative = relative_name(file, path)
            if kind == "jsonl":
                documents: Iterator[Document] = self._jsonl(file, relative, collection, report)
            else:
                documents = self._single(kind, file, relative, collection, report)
            for document in documents:
                if document.id in seen:
                    report(file, f"duplicate document id {document.id!r}: skipped")
                    continue
                seen.add(document.id)
                yield document
        if skipped:
            logger.debug("%s: skipped %s files of unsupported types", path, skipped)

    def _single(
        self, kind: str, file: Path, relative: str, collection: str, report: Report
    ) -> Iterator[Document]:
        readers: dict[str, Callable[[Path, Report], _Parsed | None]] = {
            "markdown": _markdown,
            "text": _text,
            "html": _html,
            "pdf": _pdf,
        }
        parsed = readers[kind](file, report)
        if parsed is None:
            return
        title, sections, extra = parsed
        if not sections:
            report(file, "no text found")
            return
        url = extra.pop("url", "") or f"file:{relative}"
        yield Document(
            id=f"file:{relative}",
            title=title or file.stem,
            url=url,
            source=self.name,
            collection=collection,
            sections=tuple(sections),
            metadata={"path": relative, "format": kind, **extra},
        )

    def _jsonl(
        self, file: Path, relative: str, collection: str, report: Report
    ) -> Iterator[Document]:
        text = read_text(file, report)
        if text is None:
            return
        good = bad = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report(file, f"line {number}: malformed JSON ({exc.msg})")
                bad += 1
                continue
            document = self._record(record, file, relative, number, collection)
            if isinstance(document, str):
                report(file, f"line {number}: {document}")
                bad += 1
                continue
            good += 1
            yield document
        if not good and not bad:
            report(file, "no records")

    def _record(
        self, record: Any, file: Path, relative: str, number: int, collection: str
    ) -> Document | str:
        """The line's document, or why there is none."""
        if not isinstance(record, dict):
            return "not a JSON object"
        body = next((record[f] for f in self.text_fields if isinstance(record.get(f), str)), None)
        if body is None or not body.strip():
            return f"no text in field {' / '.join(self.text_fields)}"
        key = record.get(self.id_field)
        doc_id = str(key).strip() if isinstance(key, str | int) and str(key).strip() else ""
        title = record.get(self.title_field)
        url = record.get(self.url_field)
        used = {*self.text_fields, self.title_field, self.url_field, self.id_field}
        return Document(
            id=doc_id or f"file:{relative}#{number}",
            title=" ".join(title.split()) if isinstance(title, str) else file.stem,
            url=url.strip() if isinstance(url, str) and url.strip() else f"file:{relative}",
            source=self.name,
            collection=collection,
            sections=(Section("", unwrap_lines(body)),),
            metadata={
                "path": relative,
                "line": number,
                **scalar_metadata(
                    {k: v for k, v in record.items() if k not in used}, max_fields=20
                ),
            },
        )


def _markdown(file: Path, report: Report) -> _Parsed | None:
    text = read_text(file, report)
    if text is None:
        return None
    front = split_front_matter(text)
    if front.problem:
        logger.info("%s: %s", file, front.problem)
    title = front.data.get("title")
    title = " ".join(title.split()) if isinstance(title, str) else first_heading(front.body)
    sections = [Section(h, t) for h, t in split_sections(front.body, title=title)]
    extra: dict[str, Any] = scalar_metadata(
        {k: v for k, v in front.data.items() if k != "title"}, max_fields=20
    )
    url = extra.get("url") or extra.get("source_url")
    extra["url"] = url if isinstance(url, str) and url.startswith(("http://", "https://")) else ""
    return title, sections, extra


def _text(file: Path, report: Report) -> _Parsed | None:
    text = read_text(file, report)
    if text is None:
        return None
    body = normalize_whitespace(unwrap_lines(text))
    return "", ([Section("", body)] if body else []), {}


class _HtmlText:
    """Walks an HTML tree into sections split at ``<h1>`` .. ``<h3>``."""

    def __init__(self, title: str) -> None:
        self.sections: list[Section] = []
        self._path = HeadingPath(title)
        self._parts: list[str] = []

    def walk(self, element: Any, pre: bool = False) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if not tag or tag in _HTML_SKIPPED:
            return  # comments, processing instructions, scripts; their tails are read below
        if tag in _HTML_HEADINGS:
            self.flush()
            self._path.enter(_HTML_HEADINGS[tag], element.text_content())
            return
        if tag == "br":
            self._parts.append("\n")
            return
        if tag == "tr":
            cells = [_SPACE.sub(" ", c.text_content()).strip() for c in element]
            self._parts.append("\n" + " | ".join(c for c in cells if c))
            return
        block = tag in _HTML_BLOCKS
        inside_pre = pre or tag == "pre"
        if block:
            self._parts.append("\n\n" if tag == "p" else "\n")
        if tag == "li":
            self._parts.append("- ")
        self._add(element.text, inside_pre)
        for child in element:
            self.walk(child, inside_pre)
            self._add(child.tail, inside_pre)
        if block and tag != "li":
            self._parts.append("\n")

    def _add(self, text: str | None, pre: bool) -> None:
        if text:
            self._parts.append(text if pre else _SPACE.sub(" ", text))

    def flush(self) -> None:
        text = normalize_whitespace("".join(self._parts))
        self._parts.clear()
        if text:
            self.sections.append(Section(self._path.title, text))


def _html(file: Path, report: Report) -> _Parsed | None:
    text = read_text(file, report)
    if text is None:
        return None
    try:
        root = lxml_html.document_fromstring(_XML_DECLARATION.sub("", text) or "<html/>")
    except (etree.ParserError, ValueError) as exc:
        report(file, f"unreadable HTML: {_one_line(exc)}")
        return None
    title_element = root.find(".//title")
    title = " ".join(title_element.text_content().split()) if title_element is not None else ""
    body = root.find("body")
    walker = _HtmlText(title)
    try:
        walker.walk(body if body is not None else root)
    except RecursionError:
        report(file, "HTML nested too deeply")
        return None
    walker.flush()
    if not title:
        title = next((s.title for s in walker.sections if s.title), "")
    return title, walker.sections, {}


def _pdf(file: Path, report: Report) -> _Parsed | None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(file)
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                report(file, "encrypted PDF: it needs a password")
                return None
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = normalize_whitespace(unwrap_lines(page.extract_text() or ""))
            if text:
                sections.append(Section(f"Page {number}", text))
        info = reader.metadata
        title = " ".join(str(info.title).split()) if info is not None and info.title else ""
    except Exception as exc:
        report(file, f"unreadable PDF: {_one_line(exc)}")
        return None
    if not sections:
        report(file, "no extractable text in the PDF (scanned pages?)")
        return None
    title = title.removeprefix("Microsoft Word - ")
    return (title if 0 < len(title) <= 200 else ""), sections, {"pages": len(reader.pages)}
