"""The output policy applied to every generated answer before it is shown.

* No diagnosis of the user: "you have X" becomes information about X and advice to see a
  clinician.
* Doses (numbers with mg, mcg, g, mL, units, IU ...; "take two tablets") stay only when the
  same amount appears in one of the source texts; other dosing sentences are removed.
* Links to domains that are not among the sources are removed (the link text stays);
  ``javascript:``, ``data:`` and similar links are removed.
* Markdown images and raw HTML are stripped; leftover tag openings are escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nh3

__all__ = ["PolicyResult", "apply_output_policy", "extract_doses"]

DOSE_NOTE = (
    "Dosing information that could not be checked against the sources was removed; ask a "
    "pharmacist or doctor for the right dose."
)


@dataclass(frozen=True)
class PolicyResult:
    """The answer after the policy, and what the policy did (stable action codes)."""

    text: str
    actions: list[str] = field(default_factory=list)


# --- HTML, images, links -----------------------------------------------------------------

# Elements removed with their content; every other tag is removed and its text kept.
_BLOCK_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "template",
        "noscript",
        "textarea",
        "select",
    }
)
_OPEN_TAG_RE = re.compile(r"<(?=[/!?a-zA-Z])")
# A tag opened and never closed: an HTML parser would swallow the rest of the text into it.
_UNCLOSED_TAG_RE = re.compile(r"<(?=[/!?a-zA-Z][^<>]*(?:<|$))")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK_RE = re.compile(
    r"\[([^\]]*)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_REF_DEF_RE = re.compile(r"^[ \t]*\[([^\]]+)\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$", re.MULTILINE)
_REF_USE_RE = re.compile(r"\[([^\]]+)\]\[([^\]]*)\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto|javascript|data|vbscript):[^<>\s]+)>", re.I)
_BARE_URL_RE = re.compile(r"(?<![\w/@.])(?:https?://|ftp://|www\.)[^\s<>()\[\]\"']+", re.I)
_DANGEROUS_SCHEME_RE = re.compile(r"\b(?:javascript|vbscript|data|file)\s*:[^\s)\]]*", re.I)
_PLACEHOLDER = "\u0000LINK{}\u0000"


def _host(url: str) -> str | None:
    candidate = url.strip()
    if candidate.lower().startswith("www."):
        candidate = "http://" + candidate
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _allowed_hosts(source_urls: Iterable[str]) -> set[str]:
    return {h for h in (_host(u) for u in source_urls if u) if h}


def _is_allowed(url: str, allowed: set[str]) -> bool:
    host = _host(url)
    if host is None:
        return False
    return any(host == a or host.endswith("." + a) for a in allowed)


def _strip_html(text: str) -> str:
    """``text`` without HTML elements, comments or the content of script-like elements.

    nh3 (ammonia) parses the text as HTML and keeps no tag; its entity-escaped output is read
    back to plain text, so "&" and a "<" that opens no tag come through as written.
    """
    if "<" not in text:
        return text
    cleaned = nh3.clean(text, tags=set(), clean_content_tags=set(_BLOCK_TAGS), strip_comments=True)
    return html.unescape(cleaned)


class _MarkupStripper:
    """Removes images, HTML and links to hosts outside the sources; records what it did."""

    def __init__(self, allowed: set[str], actions: list[str]) -> None:
        self.allowed = allowed
        self.actions = actions
        self.kept: list[str] = []
        self.removed_refs: set[str] = set()

    def strip(self, text: str) -> str:
        text = _AUTOLINK_RE.sub(self._autolink, text)
        text = self._changed(text, lambda t: _IMAGE_RE.sub("", t), "image_removed")
        text = _REF_DEF_RE.sub(self._ref_def, text)
        text = _REF_USE_RE.sub(self._ref_use, text)
        text = _LINK_RE.sub(self._link, text)
        text = _BARE_URL_RE.sub(self._bare, text)
        text = self._changed(text, lambda t: _DANGEROUS_SCHEME_RE.sub("", t), "unsafe_link_removed")
        text = self._changed(text, lambda t: _UNCLOSED_TAG_RE.sub("&lt;", t), "html_escaped")
        text = self._changed(text, _strip_html, "html_removed")
        text = self._changed(text, lambda t: _OPEN_TAG_RE.sub("&lt;", t), "html_escaped")
        for i, fragment in enumerate(self.kept):
            text = text.replace(_PLACEHOLDER.format(i), fragment)
        return text

    def _changed(self, text: str, transform: Callable[[str], str], action: str) -> str:
        new = transform(text)
        if new != text:
            self.actions.append(action)
        return new

    def _keep(self, fragment: str) -> str:
        self.kept.append(fragment)
        return _PLACEHOLDER.format(len(self.kept) - 1)

    def _autolink(self, match: re.Match[str]) -> str:
        url = match.group(1)
        if _is_allowed(url, self.allowed):
            return self._keep(url)
        self.actions.append("link_removed")
        return ""

    def _ref_def(self, match: re.Match[str]) -> str:
        if _is_allowed(match.group(2), self.allowed):
            return self._keep(match.group(0))
        self.removed_refs.add(match.group(1).lower())
        self.actions.append("link_removed")
        return ""

    def _ref_use(self, match: re.Match[str]) -> str:
        ref = (match.group(2) or match.group(1)).lower()
        return match.group(1) if ref in self.removed_refs else self._keep(match.group(0))

    def _link(self, match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if _DANGEROUS_SCHEME_RE.match(url.strip()):
            self.actions.append("unsafe_link_removed")
            return label
        if _is_allowed(url, self.allowed):
            return self._keep(match.group(0))
        self.actions.append("link_removed")
        return label

    def _bare(self, match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?'\"":
            trail = url[-1] + trail
            url = url[:-1]
        if _is_allowed(url, self.allowed):
            return self._keep(url) + trail
        self.actions.append("link_removed")
        return trail


def _strip_markup(text: str, allowed: set[str], actions: list[str]) -> str:
    return _MarkupStripper(allowed, actions).strip(text)


# --- doses -------------------------------------------------------------------------------

_WORD_NUMBERS = {
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "half": 0.5,
    "a half": 0.5,
    "a": 1.0,
    "an": 1.0,
}
_UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 1.0),
    "milligram": ("mass", 1.0),
    "mcg": ("mass", 0.001),
    "µg": ("mass", 0.001),
    "μg": ("mass", 0.001),
    "ug": ("mass", 0.001),
    "microgram": ("mass", 0.001),
    "g": ("mass", 1000.0),
    "gm": ("mass", 1000.0),
    "gram": ("mass", 1000.0),
    "ml": ("volume", 1.0),
    "cc": ("volume", 1.0),
    "milliliter": ("volume", 1.0),
    "millilitre": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "unit": ("unit", 1.0),
    "iu": ("iu", 1.0),
    "international unit": ("iu", 1.0),
    "meq": ("meq", 1.0),
    "mmol": ("mmol", 1.0),
    "mg/kg": ("mg/kg", 1.0),
    "mcg/kg": ("mg/kg", 0.001),
    "tablet": ("tablet", 1.0),
    "pill": ("tablet", 1.0),
    "caplet": ("tablet", 1.0),
    "capsule": ("capsule", 1.0),
    "puff": ("puff", 1.0),
    "drop": ("drop", 1.0),
    "spray": ("spray", 1.0),
    "teaspoon": ("volume", 5.0),
    "tsp": ("volume", 5.0),
    "tablespoon": ("volume", 15.0),
    "tbsp": ("volume", 15.0),
    "patch": ("patch", 1.0),
    "suppository": ("suppository", 1.0),
}
_NUM = r"\d+(?:[.,]\d+)*"
_UNIT_ALT = (
    r"mg/kg(?:/day)?|mcg/kg(?:/day)?|milligrams?|micrograms?|grams?|mcg|µg|μg|ug|mg|gm|g|"
    r"millilit(?:er|re)s?|ml|cc|l|international units?|units?|iu|meq|mmol|tablets?|pills?|"
    r"caplets?|capsules?|puffs?|drops?|sprays?|teaspoons?|tsp|tablespoons?|tbsp|patch(?:es)?|"
    r"suppositor(?:y|ies)"
)
_DOSE_RE = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|–|to|or)\s*(?P<b>{_NUM}))?\s*(?P<unit>{_UNIT_ALT})\b"
    r"(?!\s*/\s*(?:dl|l|ml|mmol|min|hr|hour|h|m2|m²)\b)(?!/(?:dl|l|ml|min|h)\b)",
    re.IGNORECASE,
)
_WORD_DOSE_RE = re.compile(
    r"\b(?:take|taking|takes|give|giving|use|using|inhale|apply|swallow|chew|insert|"
    r"dose is|dose of)\s+(?P<a>one|two|three|four|five|six|seven|eight|nine|ten|a half|half|an?"
    r")\s+(?:(?:to|or|-)\s+(?P<b>one|two|three|four|five|six|seven|eight|nine|ten)\s+)?"
    r"(?P<unit>tablets?|pills?|caplets?|capsules?|puffs?|drops?|sprays?|teaspoons?|"
    r"tablespoons?|patch(?:es)?|suppositor(?:y|ies))\b",
    re.IGNORECASE,
)


def _number(raw: str) -> float | None:
    raw = raw.strip().lower()
    if raw in _WORD_NUMBERS:
        return _WORD_NUMBERS[raw]
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return None


def _unit(raw: str) -> tuple[str, float] | None:
    unit = raw.lower().replace("/day", "")
    if unit in _UNITS:
        return _UNITS[unit]
    for suffix in ("es", "s"):
        if unit.endswith(suffix) and unit[: -len(suffix)] in _UNITS:
            return _UNITS[unit[: -len(suffix)]]
    if unit in {"suppositories"}:
        return _UNITS["suppository"]
    return None


def extract_doses(text: str) -> set[tuple[str, float]]:
    """Every amount in ``text`` as (dimension, value in the base unit), ranges as both ends."""
    doses: set[tuple[str, float]] = set()
    for pattern in (_DOSE_RE, _WORD_DOSE_RE):
        for match in pattern.finditer(text):
            unit = _unit(match.group("unit"))
            if unit is None:
                continue
            dimension, factor = unit
            for key in ("a", "b"):
                raw = match.group(key)
                value = _number(raw) if raw else None
                if value is not None:
                    doses.add((dimension, round(value * factor, 6)))
    return doses


# --- diagnosis -----------------------------------------------------------------------------

_CONDITION_RE = re.compile(
    r"\b(?:\w+(?:itis|osis|emia|aemia|oma|pathy|algia|plegia|trophy|uria|penia|cytosis|"
    r"ism|ectomy)|syndrome|disease|disorder|infection|cancer|carcinoma|tumou?r|diabetes|"
    r"hypertension|hypotension|deficiency|fracture|allerg(?:y|ies)|flu|influenza|covid(?:-19)?|"
    r"pneumonia|asthma|migraine|depression|anxiety|adhd|autism|stroke|heart attack|"
    r"heart failure|ulcer|reflux|gerd|gout|lupus|sepsis|strep|bronchitis|sinusitis|herpes|hiv|"
    r"aids|std|sti|chlamydia|gonorrh(?:o)?ea|syphilis|shingles|measles|mumps|chickenpox|lyme|"
    r"concussion|sprain|hernia|cyst|stones?|virus|condition|ibs|copd|dementia|alzheimer'?s|"
    r"parkinson'?s|schizophrenia|bipolar|psychosis|ptsd|ocd|insomnia|apnea|apnoea|obesity|"
    r"eczema|psoriasis|acne|rosacea|uti|glaucoma|cataracts?|celiac|coeliac|crohn'?s|"
    r"tuberculosis|malaria|cold sores?|warts?|scabies|lice|ringworm|thrush|gastroenteritis|"
    r"food poisoning|dehydration|burnout|tinnitus|vertigo|angina|arrhythmia|fibrillation|"
    r"thrombosis|embolism|aneurysm|tendonitis|tear)\b",
    re.IGNORECASE,
)
_DIAGNOSIS_RE = re.compile(
    r"^(?P<lead>\W*(?:(?:based on (?:this|that|these|your|what)[^,]{0,60},\s*|it (?:sounds|seems|"
    r"looks|appears) (?:like|that|as if)\s+|i (?:think|believe|suspect)(?: that)?\s+|"
    r"(?:clearly|so|therefore|thus|most likely|probably|unfortunately|sadly|definitely),?\s+)*))"
    r"you(?:'ve| have| are suffering from| suffer from|'re suffering from| are likely suffering "
    r"from|(?: most| very)? (?:likely|probably|definitely|certainly|clearly|almost certainly) "
    r"have| may have| might have| could have| seem to have| appear to have| have got| "
    r"are having|'re having| are experiencing|'re experiencing| have been diagnosed with| "
    r"(?:probably |likely |definitely )?(?:are|'re) (?:showing|displaying) (?:signs|symptoms) of"
    r")\s+(?P<cond>[^.!?\n;]{2,120})",
    re.IGNORECASE,
)
_ADJECTIVE_DIAGNOSIS_RE = re.compile(
    r"^\W*(?:it (?:sounds|seems|looks) like\s+|i think\s+|clearly,?\s+|so,?\s+)?you(?:'re| are)\s+"
    r"(?:probably |likely |definitely |clearly )?(?P<cond>diabetic|pre-?diabetic|anaemic|"
    r"anemic|hypertensive|asthmatic|depressed|bipolar|autistic|epileptic|obese|infected|"
    r"hypothyroid|hyperthyroid|lactose intolerant|gluten intolerant|dehydrated)\b",
    re.IGNORECASE,
)
_YOUR_DIAGNOSIS_RE = re.compile(
    r"^\W*(?:your (?:diagnosis|condition|problem|illness) is|i (?:would )?diagnose you with|"
    r"this is (?:definitely|clearly|certainly|most likely|probably) (?:a case of )?)\s+"
    r"(?P<cond>[^.!?\n;]{2,120})",
    re.IGNORECASE,
)
_COND_CUT_RE = re.compile(
    r"\s*(?:,|\band\b|\bbut\b|\bso\b|\bwhich\b|\bthat\b|\bbecause\b|\bwho\b|\bsince\b|\bas\b|"
    r"\bbased\b|\bfrom\b|\bgiven\b|\bdue\b|\[)",
    re.IGNORECASE,
)
_CITATIONS_RE = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+\s*[.!?]?\s*$")
_ADJECTIVE_NOUNS = {
    "diabetic": "diabetes",
    "prediabetic": "prediabetes",
    "pre-diabetic": "prediabetes",
    "anaemic": "anaemia",
    "anemic": "anemia",
    "hypertensive": "high blood pressure",
    "asthmatic": "asthma",
    "depressed": "depression",
    "bipolar": "bipolar disorder",
    "autistic": "autism",
    "epileptic": "epilepsy",
    "obese": "obesity",
    "infected": "an infection",
    "hypothyroid": "hypothyroidism",
    "hyperthyroid": "hyperthyroidism",
    "lactose intolerant": "lactose intolerance",
    "gluten intolerant": "gluten intolerance",
    "dehydrated": "dehydration",
}


def _diagnosis_rewrite(sentence: str) -> str | None:
    """The rewritten sentence when ``sentence`` diagnoses the reader, else None."""
    citations_match = _CITATIONS_RE.search(sentence)
    citations = citations_match.group(0).strip() if citations_match else ""
    body = sentence[: citations_match.start()] if citations_match else sentence
    condition: str | None = None
    match = _DIAGNOSIS_RE.match(body) or _YOUR_DIAGNOSIS_RE.match(body)
    if match:
        candidate = _COND_CUT_RE.split(match.group("cond"), maxsplit=1)[0].strip(" .:")
        if candidate and _CONDITION_RE.search(candidate) and len(candidate.split()) <= 8:
            condition = candidate
    if condition is None:
        adjective = _ADJECTIVE_DIAGNOSIS_RE.match(body)
        if adjective:
            condition = _ADJECTIVE_NOUNS.get(adjective.group("cond").lower())
    if condition is None:
        return None
    condition = re.sub(r"^your\s+", "", condition, flags=re.IGNORECASE)
    text = (
        f"Symptoms like these can occur with {condition}, but only a clinician who examines you "
        "can diagnose it; please see a doctor or other qualified clinician"
    )
    citations = citations.rstrip(".!? ")
    return f"{text} {citations}.".replace(" .", ".")


# --- sentence pass -------------------------------------------------------------------------

_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[^\s\[])|(?<=[.!?]\])\s+|(?<=\d\])\s+(?=[A-Z])")


def _split_sentences(line: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT_RE.split(line) if s.strip()]


def apply_output_policy(
    text: str, *, source_urls: Sequence[str], source_texts: Sequence[str]
) -> PolicyResult:
    """Apply the output policy to an answer, given the URLs and texts of its sources."""
    actions: list[str] = []
    allowed = _allowed_hosts(source_urls)
    text = _strip_markup(text, allowed, actions)
    supported: set[tuple[str, float]] = set()
    for source in source_texts:
        supported |= extract_doses(source)
    out_lines: list[str] = []
    dose_removed = False
    for line in text.split("\n"):
        if not line.strip():
            out_lines.append("")
            continue
        prefix_match = re.match(r"^(\s*(?:[-*+]|\d+[.)])\s+)", line)
        prefix = prefix_match.group(1) if prefix_match else ""
        kept: list[str] = []
        for sentence in _split_sentences(line[len(prefix) :]):
            doses = extract_doses(sentence)
            if doses and not doses <= supported:
                dose_removed = True
                continue
            rewritten = _diagnosis_rewrite(sentence)
            if rewritten is not None:
                actions.append("diagnosis_rewritten")
                sentence = rewritten
            kept.append(sentence.strip())
        if kept:
            out_lines.append(prefix + " ".join(kept))
    if dose_removed:
        actions.append("dose_removed")
        out_lines.extend(["", DOSE_NOTE] if any(x.strip() for x in out_lines) else [DOSE_NOTE])
    result = "\n".join(out_lines)
    result = re.sub(r"[ \t]{2,}", " ", result)
    result = re.sub(r" +([.,;:!?])", r"\1", result)
    result = re.sub(r"\n{3,}", "\n\n", result).strip()
    return PolicyResult(result, list(dict.fromkeys(actions)))
