"""What an uploaded file is, from its bytes (never from its name alone)."""

from __future__ import annotations

import json

from lumen.errors import InputError

UPLOAD_KINDS = ("pdf", "html", "markdown", "text", "jsonl")
SUFFIXES = {"pdf": ".pdf", "html": ".html", "markdown": ".md", "text": ".txt", "jsonl": ".jsonl"}

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or an Office file)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
)
_HTML_STARTS = ("<!doctype html", "<html", "<head", "<body", "<?xml")


def sniff(data: bytes, filename: str) -> str:
    """The upload kind of ``data``: pdf, html, markdown, text or jsonl.

    The bytes decide; the file name only tells Markdown from plain text.

    Raises:
        InputError: the content is empty, binary, an archive, or not UTF-8 text.

    """
    if not data.strip():
        raise InputError(f"{filename}: the file is empty")
    if b"%PDF-" in data[:1024]:
        return "pdf"
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise InputError(
                f"{filename}: {what} is not accepted; upload PDF, HTML, Markdown, text or JSONL"
            )
    head = data[:8192]
    if b"\x00" in head:
        raise InputError(f"{filename}: binary content is not accepted")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{filename}: the text is not UTF-8") from None
    start = text.lstrip()[:200].lower()
    if start.startswith(_HTML_STARTS) or ("<html" in start and start[:1] == "<"):
        return "html"
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if lines and all(line.lstrip().startswith("{") for line in lines):
        try:
            first = json.loads(lines[0])
        except json.JSONDecodeError:
            first = None
        if isinstance(first, dict):
            return "jsonl"
    if filename.lower().endswith((".md", ".markdown")) or any(
        line.startswith("#") for line in text.splitlines()[:50]
    ):
        return "markdown"
    return "text"
