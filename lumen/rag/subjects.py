"""A question's subjects: its specialised words, which the sources of an answer must mention.

"Can metformin cause lactic acidosis?" asked of an index with nothing on metformin retrieves
pages on lactic acidosis in a mitochondrial disease; quoting them answers another question.
A subject is a word of at least :data:`MIN_LENGTH` letters that the index knows (at least
:data:`MIN_DOCUMENTS` documents use it) and everyday English does not (fewer than
:data:`FAMILIAR_USES` uses in pyspellchecker's English list, and not one edit from an everyday
word, which it may be a slip for: "hellp" is HELLP syndrome to the index, but "help" to the
writer). Chatty words ("diagnosed", "appreciated", "grandmas") and misspellings the index does
not know are never subjects. The limits were set on the consumer dev set's tuning questions:
none of the 180 has a subject that its retrieved chunks leave unmentioned (docs/reranking.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

from lumen.ingest.vocabulary import words

MIN_LENGTH = 5
MIN_DOCUMENTS = 2
FAMILIAR_USES = 200
_STEM = 6  # a subject matches words sharing its first letters: "polyp" ~ "polyps"


def find_subjects(
    text: str,
    *,
    documents: Mapping[str, int],
    familiar: Collection[str],
    slip_for_everyday: Callable[[str], bool],
) -> tuple[str, ...]:
    """The subjects of ``text`` in order, each once (folded, as the index spells them)."""
    found: dict[str, None] = {}
    for word in words(text):
        if len(word) < MIN_LENGTH or word in found or word in familiar:
            continue
        if documents.get(word, 0) < MIN_DOCUMENTS or slip_for_everyday(word):
            continue
        found[word] = None
    return tuple(found)


def unmentioned(subjects: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The subjects that none of ``texts`` mentions (in any word form sharing its stem)."""
    wanted = list(subjects)
    if not wanted:
        return []
    stems: set[str] = set()
    for text in texts:
        for word in words(text):
            stems.update(word[:n] for n in range(MIN_LENGTH, _STEM + 1))
    return [s for s in wanted if s[:_STEM] not in stems]
