"""Patient-data redaction before text reaches logs, metrics, caches or error messages.

Recognisers are regular expressions with checksums and context cues (no model, no
download): e-mail addresses, phone numbers, SSNs, credit-card numbers (Luhn), IP addresses,
medical record numbers and other identifiers named by a cue ("MRN", "member ID", "NHS
number"), dates of birth and other full dates, postal addresses (US street addresses,
"City, ST 12345", P.O. boxes, UK postcodes, "I live at ..."), and names (after "my name
is", "patient:", titles such as "Dr." or "Mrs.", relations such as "my son", or a known
first name, optionally with a surname). Presidio's pattern recognisers were considered: its
analyzer package depends on spaCy (and its default engine on a downloaded spaCy model), which
is heavy for a few regular expressions, so Lumen keeps its own.

Each span found becomes a typed placeholder: ``[NAME]``, ``[EMAIL]``, ``[PHONE]``,
``[ADDRESS]``, ``[DOB]``, ``[DATE]``, ``[MRN]``, ``[SSN]``, ``[ID]``, ``[CREDIT_CARD]``,
``[IP_ADDRESS]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from lumen.safety.datafiles import own_data_path

__all__ = ["PiiSpan", "RedactingFilter", "Redactor", "add_redacting_filter"]


@dataclass(frozen=True, order=True)
class PiiSpan:
    """A stretch of text holding personal data: [start, end) and its type."""

    start: int
    end: int
    type: str
    priority: int = 0


AMBIGUOUS_NAMES = frozenset(
    "Grace Hope Faith Joy Rose Lily Iris Daisy Ruby Amber Dawn Summer April May June August "
    "Will Bill Mark Jack Frank Sue Pat Art Guy Max Chase Hunter Rob Don Ray Gene Jean "
    "Victoria Chris Sky Penny Destiny Holly Ivy Jasmine Violet Autumn Heath Dale Glen Cliff "
    "Rocky Sandy Stormy Paris Sydney Florence Georgia Carolina Virginia Austin Dallas Houston "
    "Jackson Lincoln Madison Harper Morgan Taylor Parker Mercedes Brooke Kim Lee Jordan "
    "Christian Eli Leo Kai Jesus Joe Tom Jin Hana".split()
)
"""First names that are also ordinary words or places: matched only with a surname or cue."""

_NOT_SURNAME = frozenset(
    "The A An And Or But If Is Was Has Had Have Says Said Told Asked Called Lives Went Came "
    "Takes Took Gets Got Can Could Will Would Should May Might Must Does Did Do Are Were "
    "From To In On At By For With About After Before Since Until When While Who Whom Whose "
    "Which That This These Those Then Than Also Too Very Just Still Again Today Tomorrow "
    "Yesterday Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February "
    "March April May June July August September October November December Disease Syndrome "
    "Palsy Sign Test Criteria Scale Lymphoma Disorder Reflex Maneuver Manoeuvre Hospital "
    "Clinic Medical Health Center Centre University Street Avenue Road I I'm Hi Hello Dear "
    "Thanks Regards MD PhD RN DO NP PA".split()
)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|"
    rf"{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{4}})"
)
_DOB_CUE = (
    r"(?:dob|d\.o\.b\.?|date of birth|birth ?date|born(?: on| in)?|birthday(?: is)?|"
    r"fecha de nacimiento|geburtsdatum|né(?:e)? le)"
)
_NAME_TOKEN = r"[A-Z][a-zA-Z'\u00C0-\u017F]+(?:-[A-Z][a-zA-Z'\u00C0-\u017F]+)?"  # noqa: S105
_LOWER_NAME_TOKEN = r"[a-zA-Z'\u00C0-\u017F]+(?:-[a-zA-Z'\u00C0-\u017F]+)?"  # noqa: S105
_STREET_WORDS = (
    r"street|avenue|road|boulevard|lane|drive|court|place|terrace|circle|parkway|highway|"
    r"square|trail|crescent|close|way|alley|loop|row|plaza|grove|gardens"
)
_STREET_ABBR = r"St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Ter|Cir|Pkwy|Hwy|Sq|Trl|Cres"
_US_STATES = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    r"NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_UNIT = r"(?:,?\s*(?:apt|apartment|suite|ste|unit|flat|floor|fl|#)\.?\s*#?[\w-]+)?"
_CITY_STATE_ZIP = (
    rf"(?:,?\s*{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}},?\s+(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?"
    rf"|,\s*{_NAME_TOKEN}(?=\s*(?:[.;\n]|$)))"
)
_RELATIONS = (
    r"son|daughter|wife|husband|partner|mother|mom|mum|father|dad|brother|sister|friend|"
    r"boyfriend|girlfriend|grandmother|grandma|grandfather|grandpa|baby|child|kid|doctor|"
    r"nurse|therapist|neighbou?r|roommate|aunt|uncle|cousin|colleague|coworker|boss|patient|"
    r"client|fiancée?|stepson|stepdaughter|niece|nephew|carer|caregiver|toddler|teenager"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch)
        if i % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    names: set[str] = set()
    for line in own_data_path("first_names.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            names.update(line.split())
    return frozenset(names)


@dataclass(frozen=True)
class _Pattern:
    type: str
    regex: re.Pattern[str]
    priority: int
    group: int | str = 0


def _p(kind: str, pattern: str, priority: int, *, group: int | str = 0, flags: int = 0) -> _Pattern:
    return _Pattern(kind, re.compile(pattern, flags), priority, group)


_I = re.IGNORECASE

_PATTERNS: tuple[_Pattern, ...] = (
    _p("EMAIL", r"\b[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", 95),
    _p(
        "EMAIL",
        r"\b[\w.+-]+\s*(?:\[at\]|\(at\)|\{at\})\s*[\w-]+(?:\s*(?:\[dot\]|\(dot\)|\{dot\}|\.)\s*"
        r"[\w-]+)+\b",
        95,
        flags=_I,
    ),
    _p(
        "SSN",
        r"\b(?:ssn|social security(?: number| no\.?| #)?|ss#)\s*(?:is|:|#|-)?\s*"
        r"(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4})\b",
        90,
        group="v",
        flags=_I,
    ),
    _p("SSN", r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b", 85),
    _p(
        "MRN",
        r"\b(?:mrn|medical record(?: number| no\.?| #)?|med(?:ical)? rec(?:ord)?\.? ?(?:no\.?|#)|"
        r"patient (?:id|identifier|number|no\.?|#)|chart (?:number|no\.?|#)|record (?:number|no\.?|"
        r"#)|hospital (?:number|no\.?|id)|case (?:number|no\.?|#)|encounter (?:id|number))\s*"
        r"(?:is|was|:|#|-|=)?\s*#?\s*(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,19})\b",
        88,
        group="v",
        flags=_I,
    ),
    _p(
        "ID",
        r"\b(?:member (?:id|number|no\.?)|policy (?:number|no\.?|#|id)|insurance (?:id|number|"
        r"no\.?|#)|subscriber (?:id|number)|group (?:number|no\.?|#)|nhs (?:number|no\.?)|"
        r"passport(?: number| no\.?| #)?|driver'?s licen[cs]e(?: number| no\.?| #)?|licen[cs]e "
        r"(?:number|no\.?|#)|medicare (?:number|id|no\.?|#)|medicaid (?:number|id|no\.?|#)|"
        r"health card(?: number)?|national insurance(?: number)?|ni number|npi(?: number)?|"
        r"dea (?:number|no\.?|#)|account (?:number|no\.?|#)|claim (?:number|no\.?|#)|"
        r"tax id|ein|itin|employee (?:id|number)|student (?:id|number)|id (?:number|no\.?|#))\s*"
        r"(?:is|was|:|#|-|=)?\s*#?\s*(?P<v>(?=[A-Z0-9 -]*\d)[A-Z0-9](?:[A-Z0-9-]|(?<=\d)\s(?=\d))"
        r"{3,20}[A-Z0-9])\b",
        86,
        group="v",
        flags=_I,
    ),
    _p(
        "ID",
        r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]"
        r"[AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d{2}\b",
        80,
    ),
    _p("ID", r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", 80),
    _p(
        "IP_ADDRESS",
        r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
        75,
    ),
    _p(
        "DOB",
        rf"\b{_DOB_CUE}\s*(?:is|was|:|-|=|on)?\s*(?P<v>{_DATE}|{_MONTHS}\.?,?\s+\d{{4}}|"
        r"(?:19|20)\d{2})\b",
        84,
        group="v",
        flags=_I,
    ),
    _p("DATE", rf"\b{_DATE}\b", 50, flags=_I),
    _p(
        "PHONE",
        r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"
        r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?",
        70,
        flags=_I,
    ),
    _p("PHONE", r"(?<![\w])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}\b", 70),
    _p("PHONE", r"(?<![\w+])0\d{2,4}[\s-]\d{3,4}[\s-]?\d{3,4}\b", 65),
    _p(
        "PHONE",
        r"\b(?:call|phone|tel|telephone|cell|mobile|text|reach (?:me|him|her|us)|fax|whatsapp|"
        r"number)(?:\s+(?:me|him|her|us|is|number|no\.?|at|on))*\s*[:#]?\s*(?P<v>\+?\d{7,15})\b",
        72,
        group="v",
        flags=_I,
    ),
    _p(
        "ADDRESS",
        rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:{_LOWER_NAME_TOKEN}\s+){{1,4}}"
        rf"(?:{_STREET_WORDS})\b\.?{_UNIT}{_CITY_STATE_ZIP}?",
        60,
        flags=_I,
    ),
    _p(
        "ADDRESS",
        rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:{_NAME_TOKEN}\s+){{1,4}}(?:{_STREET_ABBR})"
        rf"\b(?!\.?\s+[A-Z][a-z]+\b(?!,))\.?{_UNIT}{_CITY_STATE_ZIP}?",
        60,
    ),
    _p(
        "ADDRESS",
        rf"(?<![\w,]){_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}},\s+(?:{_US_STATES})\s+"
        r"\d{5}(?:-\d{4})?\b",
        58,
    ),
    _p("ADDRESS", r"\bP\.?\s?O\.?\s*Box\s+\d+\b", 60, flags=_I),
    _p("ADDRESS", r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[ABD-HJLNP-UW-Z]{2}\b", 55),
    _p(
        "ADDRESS",
        r"\b(?:i live at|i live on|lives at|living at|my (?:home )?address is|home address:?|"
        r"address:|residing at|resides at|staying at)\s+(?P<v>[^.;\n]{4,80}?)(?=[.;\n]|$|,\s+"
        r"(?:and|but|my|i)\b)",
        62,
        group="v",
        flags=_I,
    ),
    _p(
        "ADDRESS",
        r"\b(?:zip|zip code|postcode|postal code)\s*(?:is|:)?\s*(?P<v>\d{5}(?:-\d{4})?)\b",
        58,
        group="v",
        flags=_I,
    ),
)

_NAME_CUE_RE = re.compile(
    r"\b(?:my name is|my name's|name\s*:|patient name\s*:|patient\s*:|pt\s*:|client\s*:|"
    r"signed,?|regards,?|sincerely,?|yours truly,?|best wishes,?|from\s*:|to\s*:|attn\s*:|"
    r"emergency contact\s*:?|next of kin\s*:?|contact person\s*:?|cc\s*:)\s*"
    rf"(?P<v>{_LOWER_NAME_TOKEN}(?:\s+{_LOWER_NAME_TOKEN}){{0,2}})",
    re.IGNORECASE,
)
_SOFT_CUE_RE = re.compile(
    r"\b(?:i am|i'm|this is|call me|dear|hi|hello|hey|thanks|thank you|named|called|"
    r"appointment with|referred to|seen by|see|saw|visited|spoke (?:to|with)|"
    r"talked (?:to|with)|meet|met|ask|asked|tell|told)\s*,?\s+"
    rf"(?P<v>{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,2}})"
)
_TITLE_RE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Doctor|Nurse|Sister|Father|Rev|Judge|Officer|Sgt|Capt)"
    rf"\.?\s+(?P<v>{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
)
_RELATION_RE = re.compile(
    rf"\b(?i:my|our|his|her|their|your)\s+(?:(?:\w+\s+)?(?i:{_RELATIONS}))\s*,?\s+"
    rf"(?P<v>{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
)
_LOWER_SELF_RE = re.compile(
    r"\b(?:i am|i'm|im|this is|call me|my name is|name's)\s+(?P<v>[a-z]{2,})\b", re.IGNORECASE
)
_CAPITALISED_RE = re.compile(rf"\b{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})*")
_EPONYM_AFTER_RE = re.compile(
    r"^(?:'s|s'|’s)?\s*(?:disease|syndrome|palsy|sign|test|criteria|scale|lymphoma|disorder|"
    r"reflex|maneuver|manoeuvre|law|method|procedure|operation|score|classification|ulcer|"
    r"phenomenon|triad|tumou?r|sarcoma|anemia|anaemia)\b",
    re.IGNORECASE,
)
_NAME_STOP_LOWER = frozenset(
    "and or but i im i'm from age aged years old the a an is was have has with my your "
    "please thanks thank how what why when where who can could would should do does did "
    "not no yes so to of in on at for by am are be been".split()
)


def _trim_name(text: str, start: int, value: str, *, lower_ok: bool) -> PiiSpan | None:
    """The name at ``start`` cut before the first token that cannot be part of it."""
    end: int | None = None
    for token_match in re.finditer(r"\S+", value):
        token = token_match.group(0)
        bare = token.rstrip(",.;:!?")
        if not bare or bare.lower() in _NAME_STOP_LOWER or bare in _NOT_SURNAME:
            break
        if not lower_ok and not bare[:1].isupper():
            break
        end = start + token_match.start() + len(bare)
        if bare != token:
            break
    if end is None or _EPONYM_AFTER_RE.match(text[end:]):
        return None
    return PiiSpan(start, end, "NAME", 40)


def _cued_name_spans(text: str, names: frozenset[str]) -> Iterator[PiiSpan]:
    """Names after a cue: "my name is", a title, a relation, a softer cue."""
    for match in _NAME_CUE_RE.finditer(text):
        span = _trim_name(text, match.start("v"), match.group("v"), lower_ok=True)
        if span:
            yield span
    for regex in (_TITLE_RE, _RELATION_RE):
        for match in regex.finditer(text):
            span = _trim_name(text, match.start("v"), match.group("v"), lower_ok=False)
            if span:
                yield span
    for match in _SOFT_CUE_RE.finditer(text):
        value = match.group("v")
        first = value.split()[0]
        if first in names or (len(value.split()) > 1 and first not in _NOT_SURNAME):
            span = _trim_name(text, match.start("v"), value, lower_ok=False)
            if span and (first in names or span.end - span.start > len(first)):
                yield span
    for match in _LOWER_SELF_RE.finditer(text):
        value = match.group("v")
        if value.capitalize() in names and value.capitalize() not in AMBIGUOUS_NAMES:
            yield PiiSpan(match.start("v"), match.end("v"), "NAME", 39)


def _known_name_spans(text: str, names: frozenset[str]) -> Iterator[PiiSpan]:
    """Known first names among capitalised words, with the surname that follows."""
    for match in _CAPITALISED_RE.finditer(text):
        tokens = list(re.finditer(r"\S+", match.group(0)))
        for i, token_match in enumerate(tokens):
            token = token_match.group(0)
            if token not in names:
                continue
            start = match.start() + token_match.start()
            stop = start + len(token)
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is not None and following.group(0) not in _NOT_SURNAME:
                end = match.start() + following.end()
                if not _EPONYM_AFTER_RE.match(text[end:]):
                    yield PiiSpan(start, end, "NAME", 40)
                continue
            if token in AMBIGUOUS_NAMES or _EPONYM_AFTER_RE.match(text[stop:]):
                continue
            yield PiiSpan(start, stop, "NAME", 38)


def _name_spans(text: str) -> list[PiiSpan]:
    names = _first_names()
    return [*_cued_name_spans(text, names), *_known_name_spans(text, names)]


def _select(spans: Iterable[PiiSpan]) -> list[PiiSpan]:
    """Non-overlapping spans, preferring higher priority, then longer."""
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-s.priority, -(s.end - s.start), s.start)):
        if span.end <= span.start:
            continue
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen)


class Redactor:
    """Finds personal data and replaces it with typed placeholders such as ``[EMAIL]``."""

    def find(self, text: str) -> list[PiiSpan]:
        """The personal-data spans of ``text``, non-overlapping and in order."""
        spans: list[PiiSpan] = []
        for pattern in _PATTERNS:
            for match in pattern.regex.finditer(text):
                start, end = match.span(pattern.group)
                if start < 0:
                    continue
                spans.append(PiiSpan(start, end, pattern.type, pattern.priority))
        for match in re.finditer(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])", text):
            digits = re.sub(r"\D", "", match.group(0))
            if 13 <= len(digits) <= 19 and _luhn(digits):
                spans.append(PiiSpan(match.start(), match.end(), "CREDIT_CARD", 92))
        spans.extend(_name_spans(text))
        return _select(spans)

    def redact(self, text: str) -> str:
        """``text`` with every personal-data span replaced by ``[TYPE]``."""
        if not text:
            return text
        out = text
        for span in reversed(self.find(text)):
            out = out[: span.start] + f"[{span.type}]" + out[span.end :]
        return out


_DEFAULT = Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message, arguments and traceback.

    Attach it to handlers (it then sees every record they emit) or to a logger (records
    created on that logger). The record is rewritten in place: ``msg`` becomes the redacted,
    formatted message and ``args`` is emptied, so that no handler formats the originals.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self._redactor = redactor or _DEFAULT

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not leak the raw arguments
            message = str(record.msg)
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


def add_redacting_filter(target: logging.Logger | logging.Handler | None = None) -> None:
    """Attach a RedactingFilter to ``target``; for a logger (default: root), to its handlers too."""
    target = target if target is not None else logging.getLogger()
    if isinstance(target, logging.Logger):
        for handler in target.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
