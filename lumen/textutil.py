"""Text helpers shared by ingestion and verification: whitespace, line unwrapping, sentences.

The sentence splitter is a few regular expressions tuned for medical English (abbreviations,
decimals, dotted acronyms, list items, MedQuAD's inline bullets). It is linear in the text and
fast enough for whole corpora; it prefers missing a boundary to cutting inside a sentence.
"""

from __future__ import annotations

import re

# Unicode spaces (no-break, thin, ideographic ...) and invisible characters (zero-width, soft
# hyphen, byte-order mark); only searched for in non-ASCII text.
_UNICODE_SPACE = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL_SPACE = re.compile(r"[\t\f\v]")
_SPACE_RUN = re.compile(r"  +")
_LINE_EDGE_SPACE = re.compile(r" \n ?|\n ")
_BLANK_LINES = re.compile(r"\n\n\n+")

# Words after which a period never ends a sentence.
_ABBREVIATIONS = frozenset(
    """
    al approx ca cf dr drs mr mrs ms messrs prof vs viz cca esp incl resp
    st mt ft jr sr gen gov lt col capt sgt hon rev rep sen supt
    inc ltd corp co bros dept univ assn assoc natl intl pub
    """.split()
)
# Words after which a period does not end a sentence when a number follows ("Fig. 2").
_BEFORE_NUMBER = frozenset(
    """
    no nos fig figs tab tbl vol vols p pp ch chap sec sect art para ref refs eq eqs ex l stat
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
# A dotted acronym ("U.S", "e.g", "Ph.D", "b.i.d"). A single capital is not: in medical
# text "hepatitis B." ends sentences far more often than an initial does.
_ACRONYM = re.compile(r"(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}")
# A list enumerator that a period or bracket follows ("1.", "a)", "iv.").
_ENUMERATOR = re.compile(r"\(?(?:\d{1,3}|[A-Za-z]|[ivxlcdm]{1,6})")

# A candidate boundary: terminal punctuation with closing quotes or brackets, then whitespace.
_CANDIDATE = re.compile(r"([.!?\u2026]+[\"'\u201d\u2019)\]]*)\s+")
# Inline list items: two or more spaces before a bullet or a number ("    - item", as MedQuAD
# writes its lists), or a bullet character anywhere.
_DASH_BULLETS = "-*\u2013"  # bullets only at a line's start or after two spaces
_ROUND_BULLETS = "\u2022\u25aa\u25cf\u25e6\u2023"  # bullets anywhere
_INLINE_ITEM = re.compile(
    rf"[ \t]{{2,}}(?=(?:[{_DASH_BULLETS}]|\d{{1,2}}[.)])\s)|[{_ROUND_BULLETS}]"
)
_BULLET_CHARS = re.compile(f"[{_ROUND_BULLETS}]")
# A bullet that starts a line or an item; stripped from the sentence.
_BULLET = re.compile(rf"(?:[{_DASH_BULLETS}]+[ \t]*)+")

# Hard-wrapped text: a line that does not end a sentence joins the next one.
_LIST_START = re.compile(
    r"^\s*(?:[-*+\u2013\u2022\u25aa\u25cf\u25e6\u2023]\s|\(?(?:\d{1,3}|[a-zA-Z])[.)]\s"
    r"|[|#>]|```|~~~|[-*_=]{3,}\s*$)"
)
_LINE_END = re.compile(r"[.!?:;\u2026][\"'\u201d\u2019)\]]*\s*$")


def normalize_whitespace(text: str) -> str:
    """Tidy whitespace while keeping line structure.

    Runs of spaces and tabs (and Unicode spaces) become one space, invisible characters go,
    lines are trimmed, at most one blank line separates paragraphs, and the ends are stripped.
    """
    if not text.isascii():
        text = _INVISIBLE.sub("", _UNICODE_SPACE.sub(" ", text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text or "\f" in text or "\v" in text:
        text = _CONTROL_SPACE.sub(" ", text)
    text = _SPACE_RUN.sub(" ", text)
    text = _LINE_EDGE_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def unwrap_lines(text: str) -> str:
    """Join hard-wrapped lines (PDF text, plain-text files) into paragraphs.

    A line is joined to the next unless it ends a sentence (``.!?:;``) or a paragraph (blank
    line), ends in two spaces (a Markdown line break), or either line is a table row, a
    heading or a code fence, or the next line starts a list item.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    joinable = False
    for line in lines:
        if not line.strip():
            out.append("")
            joinable = False
            continue
        if joinable and not _LIST_START.match(line):
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
        current = out[-1]
        joinable = not (
            _LINE_END.search(current)
            or current.endswith("  ")
            or current.lstrip().startswith(("|", "#", "```", "~~~"))
        )
    return "\n".join(out)


def _ends_sentence(piece: str, end: int, after: str) -> bool:
    """Whether the period-like mark just before ``end`` closes a sentence."""
    low = max(0, end - 64)
    begin = max(piece.rfind(" ", low, end), piece.rfind("\n", low, end), low - 1)
    word = piece[begin + 1 : end].rstrip("\"')]\u201d\u2019")
    if not word.endswith("."):
        return True  # ! or ? or ...
    if word.endswith(".."):
        return True  # an ellipsis
    stem = word[:-1].lstrip("\"'([\u201c\u2018")
    lowered = stem.lower()
    if lowered in _ABBREVIATIONS:
        return False
    if lowered in _BEFORE_NUMBER and after[:1].isdigit():
        return False
    return not _ACRONYM.fullmatch(stem)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the sentences of ``text``, in order.

    Line breaks and list items are boundaries; so is ``.``, ``!`` or ``?`` followed by
    whitespace and a capital (or caseless) letter, a digit or an opening bracket or quote,
    unless the period belongs to an abbreviation (``e.g.``, ``Dr.``, ``et al.``, ``U.S.``,
    ``Fig. 2``) or a list enumerator. Spans exclude surrounding whitespace and leading
    bullets.
    """
    spans: list[tuple[int, int]] = []
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        if "  " in line or "\t" in line or (not line.isascii() and _BULLET_CHARS.search(line)):
            start = position
            for item in _INLINE_ITEM.finditer(text, position, end):
                if item.start() > start:
                    _split_piece(text, start, item.start(), spans)
                start = item.end()
            if start < end:
                _split_piece(text, start, end, spans)
        elif end > position:
            _split_piece(text, position, end, spans)
        position = end + 1
    return spans


def _split_piece(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start] in " \t":
        start += 1
    bullet = _BULLET.match(text, start, end)
    if bullet is not None and (bullet.end() == end or text[bullet.end() - 1] in " \t"):
        start = bullet.end()
    sentence_start = start
    for match in _CANDIDATE.finditer(text, start, end):
        mark_end = match.end(1)
        after = text[match.end() : match.end() + 2]
        if not after:
            break
        first = after[0]
        if first.islower() or not (first.isalnum() or first in "\"'([\u201c\u2018"):
            continue
        if text[match.start(1)] == "." or text[match.start(1)] == "\u2026":
            short = match.start(1) - sentence_start <= 8
            head = text[sentence_start : match.start(1)].strip() if short else ""
            if (short and _ENUMERATOR.fullmatch(head)) or not _ends_sentence(text, mark_end, after):
                continue
        _add_span(text, sentence_start, mark_end, spans)
        sentence_start = match.end()
    _add_span(text, sentence_start, end, spans)


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped and non-empty (see :func:`sentence_spans`)."""
    return [text[start:end] for start, end in sentence_spans(text)]


_NUMBERED_ITEM = re.compile(r"\d{1,2}[.)]\s")


def _is_list_item(text: str, start: int) -> bool:
    """Whether the sentence starting at ``start`` is a list item (a bullet or number before it)."""
    if _NUMBERED_ITEM.match(text, start):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].rstrip(" \t")
    if not before or before[-1] not in _DASH_BULLETS + _ROUND_BULLETS:
        return False
    if before[-1] in _ROUND_BULLETS:
        return True
    # A dash is a bullet at the line's start or after spaces, not inside "Parasites - Taeniasis".
    rest = before.rstrip(_DASH_BULLETS + _ROUND_BULLETS + " \t")
    return not rest or before[len(rest)] in " \t"


def list_lead_ins(text: str, spans: list[tuple[int, int]] | None = None) -> list[int | None]:
    """For each sentence of ``text`` (``spans``, default :func:`sentence_spans`), its lead-in.

    A list item's lead-in is the sentence ending with ":" just before its list ("The outlook
    depends on the following:"), given as the index of that sentence; other sentences, and
    items without one, get ``None``.
    """
    spans = sentence_spans(text) if spans is None else spans
    items = [_is_list_item(text, start) for start, _end in spans]
    leads: list[int | None] = []
    for index, is_item in enumerate(items):
        lead = None
        if is_item:
            before = index - 1
            while before >= 0 and items[before]:
                before -= 1
            if before >= 0 and text[spans[before][0] : spans[before][1]].endswith(":"):
                lead = before
        leads.append(lead)
    return leads


# A sentence's end: its mark, a closing quote or bracket, then citation marks such as "[1][2]".
_COMPLETE_END = re.compile(
    r"([.!?\u2026])[\"'\u201d\u2019)\]]*(?:\s*\[\d+(?:\s*[,-]\s*\d+)*\])*(?=\s|$)"
)


def complete_sentences(text: str) -> str:
    """``text`` up to the end of its last complete sentence (``""`` when it holds none).

    A draft cut off mid-sentence ("Glaucoma is treated with eye drops. Surgery may") keeps
    "Glaucoma is treated with eye drops.": a fragment is no claim to show or check.
    """
    text = text.rstrip()
    for match in reversed(list(_COMPLETE_END.finditer(text))):
        mark_end = match.end(1)
        if _ends_sentence(text, mark_end, text[match.end() :].lstrip()[:2]):
            return text[: match.end()]
    return ""


# Small words that may sit inside a title-cased heading.
_HEADING_GLUE = frozenset("a an and as at by for from in of on or the to with &".split())


# Words that open a sentence, not a heading: after a title-cased run, "The" starts the text.
_SENTENCE_OPENERS = frozenset(
    """
    the a an this these those that it its they their there people most many some if when while
    although because your you we our in during after before each every all both one several
    """.split()
)
_DASHES = frozenset(("-", "--", "\u2013", "\u2014"))


def split_fused_heading(sentence: str) -> tuple[str, str]:
    """``(heading, rest)`` of a sentence with a heading fused onto its front, else ``("", it)``.

    A fused heading shows as a title-cased run of words followed by the real sentence, whose
    first word repeats a word of the heading or is a sentence opener: "Tests for Glaucoma
    Glaucoma is detected ..." is ("Tests for Glaucoma", "Glaucoma is detected ..."), "Bone
    Density Tests The test used ..." is ("Bone Density Tests", "The test used ..."), "Follow
    Your Treatments Follow your treatments ..." splits after "Treatments". A label ending in
    ":" ("Stage III: The tumor ...") belongs to its sentence. Web pages flattened to text (as
    MedQuAD's are) leave such seams.
    """
    words = sentence.split()
    for index in range(2, min(len(words) - 1, 12)):  # a heading has two words at least
        head = words[:index]
        if not all(_heading_word(w) for w in head):
            break
        word, following = words[index], words[index + 1]
        if word == head[-1] and word[:1].isupper():  # "... for Glaucoma Glaucoma is ..."
            return " ".join(head), " ".join(words[index:])
        if (
            sum(w[:1].isupper() for w in head) >= 2
            and word[:1].isupper()
            and word[1:].islower()
            and following[:1].islower()
            and head[-1].lower() not in _HEADING_GLUE
            and head[-1] not in _DASHES
            and not head[-1].endswith(":")
            and (
                word.lower() in _SENTENCE_OPENERS
                or word.lower() in {w.lower().strip(",.:;") for w in head}
            )
        ):
            return " ".join(head), " ".join(words[index:])
    return "", sentence


def _heading_word(word: str) -> bool:
    return word[:1].isupper() or word.lower() in _HEADING_GLUE or word in _DASHES


# Words that open a question answered by yes or no ("Does ...?", "Is ...?", "Can ...?").
_YES_NO_OPENERS = frozenset(
    """
    is are was were am do does did can could should would will shall may might must has have had
    """.split()
)


def is_yes_no_question(text: str) -> bool:
    """Whether ``text`` is a question whose first word makes it a yes-no question."""
    words = text.strip().split(maxsplit=1)
    return bool(words) and text.rstrip().endswith("?") and words[0].lower() in _YES_NO_OPENERS
