"""The words of an indexed source, kept beside the index for spelling correction.

A source's vocabulary is the document frequency of each word its documents use (case- and
accent-folded letters only, at least :data:`MIN_WORD_LENGTH` long). Every word counts: a rare
name in one document is still a word the index knows and must not be "corrected"; the corrector
itself only corrects towards words that several documents use. It is recorded per collection and
source under :data:`VOCABULARY_KEY`, rebuilt whenever a whole source is ingested and dropped with
the source.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from lumen.components.embedding.bm25 import fold
from lumen.documents import Document

VOCABULARY_KEY = "vocabulary:{collection}"
MIN_WORD_LENGTH = 4
MIN_DOCUMENTS = 1

_LETTERS = re.compile(r"[a-z]+")


def words(text: str) -> Iterator[str]:
    """The folded letter runs of ``text`` ("Alzheimer's" gives "alzheimer" and "s")."""
    return (match.group() for match in _LETTERS.finditer(fold(text)))


def document_frequencies(
    documents: Iterable[Document],
    *,
    min_length: int = MIN_WORD_LENGTH,
    min_documents: int = MIN_DOCUMENTS,
) -> dict[str, int]:
    """How many of ``documents`` use each word (titles included), short words left out."""
    counts: Counter[str] = Counter()
    for document in documents:
        text = f"{document.title}\n{document.text}"
        counts.update({word for word in words(text) if len(word) >= min_length})
    return {word: n for word, n in sorted(counts.items()) if n >= min_documents}


def merged_vocabulary(records: Iterable[Any]) -> dict[str, int]:
    """Recorded ``{source: {word: documents}}`` of one or more collections, summed over sources.

    Anything malformed in a record is skipped: spelling correction is a help, never a failure.
    """
    merged: dict[str, int] = {}
    for recorded in records:
        if not isinstance(recorded, dict):
            continue
        for vocabulary in recorded.values():
            if not isinstance(vocabulary, dict):
                continue
            for word, count in vocabulary.items():
                if isinstance(word, str) and isinstance(count, int) and count > 0:
                    merged[word] = merged.get(word, 0) + count
    return merged
