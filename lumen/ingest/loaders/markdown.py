"""Markdown helpers: YAML front matter, heading-based sections, and markup stripped to text."""

from __future__ import annotations

import re
from typing import Any

import yaml

from lumen.documents import Section

_FENCE = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n\s*```\s*$", re.S)
_FRONT_MATTER = re.compile(r"^\s*---\s*\n(.*?)\n---\s*\n?", re.S)
_HEADING = re.compile(r"^\s{0,8}(#{1,6})\s+(.+?)\s*#*\s*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HTML_TAG = re.compile(r"<[^>]+>")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The YAML front matter (empty if none or invalid) and the body after it."""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text[match.end() :]
    return (data if isinstance(data, dict) else {}), text[match.end() :]


def strip_markup(text: str) -> str:
    """Markdown to readable text: images dropped, links keep their text, tables become rows."""
    lines = []
    for line in text.split("\n"):
        if _TABLE_RULE.match(line):
            continue
        line = _IMAGE.sub("", line)
        line = _LINK.sub(r"\1", line)
        line = _HTML_TAG.sub(" ", line)
        line = _EMPHASIS.sub("", line)
        if line.strip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            line = " | ".join(c for c in cells if c)
        lines.append(line.rstrip())
    return "\n".join(lines)


def split_by_headings(body: str, *, max_level: int = 3) -> list[Section]:
    """Sections titled by their heading path (``Part 801 > Subpart A``), up to ``max_level``."""
    sections: list[Section] = []
    path: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = strip_markup("\n".join(buffer)).strip()
        if text:
            sections.append(Section(title=" > ".join(path), text=text))
        buffer.clear()

    for line in body.split("\n"):
        match = _HEADING.match(line)
        if match and len(match.group(1)) <= max_level:
            flush()
            level = len(match.group(1))
            heading = strip_markup(match.group(2)).strip()
            path[:] = path[: level - 1] + [heading]
        else:
            buffer.append(line)
    flush()
    return sections
