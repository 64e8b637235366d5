"""BM25 sparse vectors for Qdrant's sparse index with the IDF modifier.

Qdrant multiplies each stored weight by the term's IDF at query time (``Modifier.IDF``), so a
document vector carries only the BM25 term-frequency part and a query vector weight 1 per term.
Term ids are a stable 32-bit hash of the (stemmed) term, identical across processes and machines.
Terms are stemmed with Snowball's English stemmer (PyStemmer).
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections import Counter
from typing import Any

import Stemmer

from lumen.components.vector_store.base import SparseVector

__all__ = ["ENGLISH_STOPWORDS", "Bm25Encoder", "fold", "stem", "term_id"]

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


def fold(text: str) -> str:
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

    identity = "bm25:snowball-english"
    """What an index records of the sparse encoder: terms stemmed otherwise do not match."""

    def tokens(self, text: str) -> list[str]:
        """Lowercased, accent-folded, stemmed terms of ``text`` without stopwords.

        A hyphenated compound gives its parts and the joined form: "covid-19" gives
        "covid", "19" and "covid19", so it matches "COVID 19" and "covid19" alike.
        """
        folded = _CONTRACTION.sub("", fold(text))
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


_local = threading.local()


def _english_stemmer() -> Any:
    """The calling thread's Snowball stemmer (PyStemmer's are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def stem(word: str) -> str:
    """Snowball English (Porter2) stem of a lowercase word; digits and short words pass as is."""
    if len(word) <= 2 or not word.isalpha() or not word.isascii():
        return word
    return str(_english_stemmer().stemWord(word))
