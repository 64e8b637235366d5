"""BM25 sparse vectors for Qdrant's sparse index with the IDF modifier.

Qdrant multiplies each stored weight by the term's IDF at query time (``Modifier.IDF``), so a
document vector carries only the BM25 term-frequency part and a query vector weight 1 per term.
Term ids are a stable 32-bit hash of the (stemmed) term, identical across processes and machines.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from functools import lru_cache

from lumen.components.vector_store.base import SparseVector

__all__ = ["ENGLISH_STOPWORDS", "Bm25Encoder", "stem", "term_id"]

# Common English function words. Negations and medical words ("no", "not", "without", "pain",
# "high", "low") are kept on purpose: they change the meaning of a clinical question.
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing don down during each either else etc
    ever every for from further had has have having he her here hers herself him himself his how
    however i if in into is it its itself just let me might more most must my myself neither nor
    of off on once only or other ought our ours ourselves out over own per same shall she should
    since so some such than that the their theirs them themselves then there these they this those
    though through thus to too under until up upon us very via was we were what whatever when
    where whether which while who whom whose why will with would yet you your yours yourself
    yourselves
    """.split()
)

_MAX_TOKEN_LEN = 40
_CONTRACTION = re.compile(r"['\u2019](?:s|t|re|ve|ll|d|m)\b")
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def term_id(term: str) -> int:
    """The sparse index of a term: CRC-32 of its UTF-8 bytes (stable, non-negative, 32-bit)."""
    return zlib.crc32(term.encode("utf-8")) & 0xFFFFFFFF


def _fold(text: str) -> str:
    """Case-fold and strip accents ("Sjögren" -> "sjogren")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Bm25Encoder:
    """Encodes texts as BM25 sparse vectors (term-frequency part; Qdrant applies IDF).

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation (0: none, 1: full).
        avg_doc_len: Expected average document length in tokens (after stopword removal).

    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_doc_len: float = 100.0) -> None:
        if k1 < 0:
            raise ValueError("k1 must be >= 0")
        if not 0.0 <= b <= 1.0:
            raise ValueError("b must be within [0, 1]")
        if avg_doc_len <= 0:
            raise ValueError("avg_doc_len must be > 0")
        self.k1 = k1
        self.b = b
        self.avg_doc_len = avg_doc_len

    def tokens(self, text: str) -> list[str]:
        """Lowercased, accent-folded, stemmed terms of ``text`` without stopwords.

        A hyphenated compound gives its parts and the joined form: "covid-19" gives
        "covid", "19" and "covid19", so it matches "COVID 19" and "covid19" alike.
        """
        folded = _CONTRACTION.sub("", _fold(text))
        out: list[str] = []
        for match in _WORD.finditer(folded):
            word = match.group()
            if "-" in word:
                parts = [p for p in word.split("-") if p]
                candidates = [*parts, "".join(parts)]
            else:
                candidates = [word]
            for token in candidates:
                if token in ENGLISH_STOPWORDS or len(token) > _MAX_TOKEN_LEN:
                    continue
                out.append(stem(token))
        return out

    def encode_document(self, text: str) -> SparseVector:
        """BM25 term-frequency weights: ``tf*(k1+1) / (tf + k1*(1-b+b*len/avg_len))``."""
        terms = self.tokens(text)
        norm = self.k1 * (1.0 - self.b + self.b * len(terms) / self.avg_doc_len)
        weights: dict[int, float] = {}
        for term, tf in Counter(terms).items():
            index = term_id(term)
            weight = tf * (self.k1 + 1.0) / (tf + norm)
            # Distinct terms sharing a hash (rare) add up rather than overwrite.
            weights[index] = weights.get(index, 0.0) + weight
        return _sparse(weights)

    def encode_query(self, text: str) -> SparseVector:
        """Weight 1.0 per unique query term (Qdrant multiplies it by the IDF)."""
        return _sparse(dict.fromkeys((term_id(t) for t in self.tokens(text)), 1.0))

    def encode_documents(self, texts: list[str]) -> list[SparseVector]:
        """:meth:`encode_document` for each text."""
        return [self.encode_document(t) for t in texts]


def _sparse(weights: dict[int, float]) -> SparseVector:
    indices = sorted(weights)
    return SparseVector(indices=indices, values=[weights[i] for i in indices])


# --- Porter2 (Snowball English) stemmer --------------------------------------------------------

_VOWELS = frozenset("aeiouy")
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_LI_ENDINGS = frozenset("cdeghkmnrt")
_EXCEPTIONS = {
    "skis": "ski",
    "skies": "sky",
    "dying": "die",
    "lying": "lie",
    "tying": "tie",
    "idly": "idl",
    "gently": "gentl",
    "ugly": "ugli",
    "early": "earli",
    "only": "onli",
    "singly": "singl",
    "sky": "sky",
    "news": "news",
    "howe": "howe",
    "atlas": "atlas",
    "cosmos": "cosmos",
    "bias": "bias",
    "andes": "andes",
}
_AFTER_1A = frozenset(
    ["inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed"]
)
_STEP2 = (
    ("ization", "ize"),
    ("ational", "ate"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("iveness", "ive"),
    ("tional", "tion"),
    ("biliti", "ble"),
    ("lessli", "less"),
    ("entli", "ent"),
    ("ation", "ate"),
    ("alism", "al"),
    ("aliti", "al"),
    ("ousli", "ous"),
    ("iviti", "ive"),
    ("fulli", "ful"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("abli", "able"),
    ("izer", "ize"),
    ("ator", "ate"),
    ("alli", "al"),
    ("bli", "ble"),
    ("ogi", "og"),
    ("li", ""),
)
_STEP3 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("alize", "al"),
    ("icate", "ic"),
    ("iciti", "ic"),
    ("ative", ""),
    ("ical", "ic"),
    ("ness", ""),
    ("ful", ""),
)
_STEP4 = (
    "ement",
    "ance",
    "ence",
    "able",
    "ible",
    "ment",
    "ant",
    "ent",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
    "ion",
    "al",
    "er",
    "ic",
)


def _is_vowel(c: str) -> bool:
    return c in _VOWELS


def _region(word: str, start: int) -> int:
    """Index after the first non-vowel that follows a vowel, from ``start`` on."""
    for i in range(start + 1, len(word)):
        if not _is_vowel(word[i]) and _is_vowel(word[i - 1]):
            return i + 1
    return len(word)


def _short_syllable_at_end(word: str) -> bool:
    n = len(word)
    if n == 2:
        return _is_vowel(word[0]) and not _is_vowel(word[1])
    if n >= 3:
        return (
            not _is_vowel(word[-3])
            and _is_vowel(word[-2])
            and not _is_vowel(word[-1])
            and word[-1] not in "wxY"
        )
    return False


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Porter2 (Snowball English) stem of a lowercase word; digits and short words pass as is."""
    if len(word) <= 2 or not word.isalpha() or not word.isascii():
        return word
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    w = word
    if w[0] == "y":
        w = "Y" + w[1:]
    w = "".join("Y" if c == "y" and i > 0 and _is_vowel(w[i - 1]) else c for i, c in enumerate(w))
    if w.startswith(("gener", "arsen")):
        r1 = 5
    elif w.startswith("commun"):
        r1 = 6
    else:
        r1 = _region(w, 0)
    r2 = _region(w, r1) if r1 < len(w) else len(w)

    # Step 1a.
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("ied", "ies")):
        w = w[:-2] if len(w) > 4 else w[:-1]
    elif w.endswith(("us", "ss")):
        pass
    elif w.endswith("s") and any(_is_vowel(c) for c in w[:-2]):
        w = w[:-1]
    if w in _AFTER_1A:
        return w

    # Step 1b.
    if w.endswith(("eedly", "eed")):
        suffix = "eedly" if w.endswith("eedly") else "eed"
        if len(w) - len(suffix) >= r1:
            w = w[: -len(suffix)] + "ee"
    else:
        for suffix in ("ingly", "edly", "ing", "ed"):
            if w.endswith(suffix):
                base = w[: -len(suffix)]
                if any(_is_vowel(c) for c in base):
                    w = base
                    if w.endswith(("at", "bl", "iz")):
                        w += "e"
                    elif w.endswith(_DOUBLES):
                        w = w[:-1]
                    elif _short_syllable_at_end(w) and r1 >= len(w):
                        w += "e"
                break

    # Step 1c.
    if len(w) > 2 and w[-1] in "yY" and not _is_vowel(w[-2]):
        w = w[:-1] + "i"

    # Step 2.
    for suffix, repl in _STEP2:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r1:
                if suffix == "ogi":
                    if w[-4:-3] == "l":
                        w = w[:-3] + repl
                elif suffix == "li":
                    if w[-3:-2] in _LI_ENDINGS and len(w) >= 3:
                        w = w[:-2]
                else:
                    w = w[: -len(suffix)] + repl
            break

    # Step 3.
    for suffix, repl in _STEP3:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r1 and (suffix != "ative" or len(w) - 5 >= r2):
                w = w[: -len(suffix)] + repl
            break

    # Step 4.
    for suffix in _STEP4:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r2 and (suffix != "ion" or w[-4:-3] in ("s", "t")):
                w = w[: -len(suffix)]
            break

    # Step 5.
    if w.endswith("e"):
        if len(w) - 1 >= r2 or (len(w) - 1 >= r1 and not _short_syllable_at_end(w[:-1])):
            w = w[:-1]
    elif w.endswith("l") and len(w) - 1 >= r2 and w[-2:-1] == "l":
        w = w[:-1]
    return w.replace("Y", "y")
