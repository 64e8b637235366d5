"""A question's subjects: its specialised words, which the sources of an answer must mention.

"Can metformin cause lactic acidosis?" asked of an index with nothing on metformin retrieves
pages on lactic acidosis in a mitochondrial disease; quoting them answers another question.
A subject is a word of at least :data:`MIN_LENGTH` letters that the index knows (at least
:data:`MIN_DOCUMENTS` documents use it) and everyday English does not (fewer than
:data:`FAMILIAR_USES` uses in pyspellchecker's English list, and not one edit from an everyday
word, which it may be a slip for: "hellp" is HELLP syndrome to the index, but "help" to the
writer). So is a name neither the index nor English knows, nor any word within two edits of
it: a drug the index has no page on ("atomoxetine"). Chatty words ("diagnosed",
"appreciated", "grandmas") and misspellings are never subjects. The limits were set on the
consumer dev set's tuning questions: none of the 180 has a subject that its retrieved chunks
leave unmentioned (docs/reranking.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from lumen.ingest.vocabulary import words

MIN_LENGTH = 5
MIN_DOCUMENTS = 2
FAMILIAR_USES = 200
UNKNOWN_EDITS = 2
_STEM = 6  # a subject matches words sharing its first letters: "polyp" ~ "polyps"


def find_subjects(
    text: str,
    *,
    documents: Mapping[str, int],
    familiar: Collection[str],
    english: Collection[str],
    slip_for_everyday: Callable[[str], bool],
    near_a_known_word: Callable[[str], bool],
) -> tuple[str, ...]:
    """The subjects of ``text`` in order, each once (folded, as the index spells them).

    Two kinds: words the index knows (see the module) and names nobody here knows: a word that
    neither English nor the index has, nor anything within :data:`UNKNOWN_EDITS` edits of it
    ("atomoxetine" asked of an index without it; a misspelling is near the word it misses).
    """
    found: dict[str, None] = {}
    for word in words(text):
        if len(word) < MIN_LENGTH or word in found or word in familiar:
            continue
        if documents.get(word, 0) >= MIN_DOCUMENTS:
            if not slip_for_everyday(word):
                found[word] = None
        elif word not in english and not near_a_known_word(word):
            found[word] = None
    return tuple(found)


def _stems(texts: Iterable[str]) -> set[str]:
    stems: set[str] = set()
    for text in texts:
        for word in words(text):
            stems.update(word[:n] for n in range(MIN_LENGTH, _STEM + 1))
    return stems


def unmentioned(subjects: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The subjects that none of ``texts`` mentions (in any word form sharing its stem)."""
    wanted = list(subjects)
    if not wanted:
        return []
    stems = _stems(texts)
    return [s for s in wanted if s[:_STEM] not in stems]


def mentioned_share(subjects: Sequence[str], text: str) -> float:
    """The share of ``subjects`` that ``text`` mentions (1.0 when there are none)."""
    if not subjects:
        return 1.0
    stems = _stems([text])
    return sum(s[:_STEM] in stems for s in subjects) / len(subjects)
