"""Markdown for the loaders: YAML front matter, sections by heading, markup stripped to text."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import Any

import yaml

from lumen.textutil import normalize_whitespace, unwrap_lines

logger = logging.getLogger(__name__)

# A whole file wrapped in a code fence ("```markdown ... ```"), as some converters write.
_OUTER_FENCE = re.compile(
    r"\A\s*```[ \t]*(?:markdown|md)?[ \t]*\n(.*?)(?:\n[ \t]*```[ \t]*)?\s*\Z", re.S
)
_FRONT_MATTER_OPEN = re.compile(r"\A[ \t]*---[ \t]*\n")
# The closing line; "`---" occurs in converted files.
_FRONT_MATTER_CLOSE = re.compile(r"^`?(?:---|\.\.\.)[ \t]*$", re.M)
_LOOSE_FIELD = re.compile(r"^([A-Za-z_][\w -]{0,60}):[ \t]+(\S.*?)[ \t]*$", re.M)

_HEADING = re.compile(r"^[ \t]{0,8}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)")
_RULE = re.compile(r"^[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|={3,})$")
_TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+(?:[ \t]*:?-{2,}:?[ \t]*)?$")
_REFERENCE_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S+.*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)|\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_BREAK = re.compile(r"<br\s*/?>", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_CODE = re.compile(r"`+([^`]*)`+")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_MARKUP_CHARS = re.compile(r"[\[<`*_\\&]")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SET_ASIDE = 0xF0000  # + an ASCII code: a character of a supplementary private-use area
_SET_ASIDE_CHARS = re.compile("[\U000f0000-\U000f007f]")
_BLOCKQUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_BULLET = re.compile(r"^([ \t]*)[*+][ \t]+")


@dataclass(frozen=True)
class FrontMatter:
    """A file's front matter, the body after it, and why it could not be parsed (if so)."""

    data: dict[str, Any]
    body: str
    problem: str = ""


def split_front_matter(text: str) -> FrontMatter:
    """Separate YAML front matter from the body.

    A file wrapped in a ```` ```markdown ```` fence is unwrapped first. Front matter that is not
    valid YAML is read leniently (top-level ``key: value`` lines) and ``problem`` says why.
    """
    fenced = _OUTER_FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    opening = _FRONT_MATTER_OPEN.match(text.lstrip("\ufeff\n"))
    if opening is None:
        return FrontMatter({}, text)
    text = text.lstrip("\ufeff\n")
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        return FrontMatter({}, text, "front matter is not closed")
    raw = text[opening.end() : closing.start()]
    body = text[closing.end() :]
    try:
        data = yaml.load(raw, Loader=_YAML_LOADER)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        loose = {m.group(1).strip(): m.group(2) for m in _LOOSE_FIELD.finditer(raw)}
        return FrontMatter(loose, body, f"front matter is not valid YAML ({first_line})")
    if not isinstance(data, dict):
        return FrontMatter({}, body, "front matter is not a mapping")
    return FrontMatter({str(k): v for k, v in data.items()}, body)


def inline_text(text: str) -> str:
    """One line of Markdown as plain text: links keep their text, images and markup go."""
    if _MARKUP_CHARS.search(text) is None:
        return text
    # Escaped characters are set aside (as private-use characters) until the markup is gone.
    text = _ESCAPE.sub(lambda m: chr(_SET_ASIDE + ord(m.group(1))), text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_BREAK.sub("\n", text)
    text = _HTML_TAG.sub("", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _SET_ASIDE_CHARS.sub(lambda m: chr(ord(m.group(0)) - _SET_ASIDE), text)
    return html.unescape(text)


def _table_row(line: str) -> str:
    cells = [inline_text(cell).strip() for cell in line.strip().strip("|").split("|")]
    return " | ".join(cell for cell in cells if cell)


def markdown_to_text(markdown: str) -> str:
    """A Markdown block (no headings expected) as readable plain text.

    Soft-wrapped lines are joined, tables become rows with cells joined by `` | ``, bullets
    become ``-``, code fences, rules and link definitions go.
    """
    markdown = _HTML_COMMENT.sub("", markdown)
    lines: list[str] = []
    in_code = False
    for line in unwrap_lines(markdown).split("\n"):
        if _FENCE_LINE.match(line):
            in_code = not in_code
            continue
        if in_code:
            lines.append(line)
            continue
        if _RULE.match(line) or _TABLE_SEPARATOR.match(line) or _REFERENCE_DEFINITION.match(line):
            continue
        line = _BLOCKQUOTE.sub("", line)
        heading = _HEADING.match(line)
        if heading:
            lines.append(inline_text(heading.group(2)))
        elif line.lstrip().startswith("|"):
            lines.append(_table_row(line))
        else:
            lines.append(inline_text(_BULLET.sub(r"\1- ", line)))
    return normalize_whitespace("\n".join(lines))


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


class HeadingPath:
    """The headings above the current point of a document, as a section title.

    Headings that repeat most of the document's ``title`` are left out of the path; a heading that
    ends in a colon (``Authority:``) titles its own text but is no parent of later headings.
    """

    def __init__(self, title: str = "") -> None:
        """Track headings of a document titled ``title``."""
        self._title_key = _key(title)
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, heading: str) -> None:
        """A heading of ``level`` (1 for ``#``/``<h1>``) starts here."""
        if self._stack and self._stack[-1][1].endswith(":"):
            self._stack.pop()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, " ".join(heading.split())))

    @property
    def title(self) -> str:
        """``Part 801 > Subpart A``."""
        return " > ".join(name for _, name in self._stack if name and not self._redundant(name))

    def _redundant(self, name: str) -> bool:
        """Whether the heading is most of the title (``§351. X`` of ``21 U.S.C. § 351 - X``)."""
        key = _key(name)
        return bool(key) and key in self._title_key and len(key) >= 0.6 * len(self._title_key)


def split_sections(markdown: str, *, max_level: int = 3, title: str = "") -> list[tuple[str, str]]:
    """``(heading path, text)`` for each part of ``markdown`` under a heading.

    Headings down to ``max_level`` (``#`` .. ``###``) open sections titled by their path
    (``Part 801 > Subpart A``, see :class:`HeadingPath`); deeper ones stay in the text.
    Sections without text are dropped.
    """
    path = HeadingPath(title)
    sections: list[tuple[str, str]] = []
    buffer: list[str] = []
    in_code = False

    def flush() -> None:
        text = markdown_to_text("\n".join(buffer))
        buffer.clear()
        if text:
            sections.append((path.title, text))

    for line in markdown.split("\n"):
        if _FENCE_LINE.match(line):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match is None or len(match.group(1)) > max_level:
            buffer.append(line)
            continue
        flush()
        path.enter(len(match.group(1)), inline_text(match.group(2)))
    flush()
    return sections


def first_heading(markdown: str) -> str:
    """The text of the first heading in ``markdown`` ("" if none)."""
    for line in markdown.split("\n"):
        match = _HEADING.match(line)
        if match:
            return " ".join(inline_text(match.group(2)).split())
    return ""
