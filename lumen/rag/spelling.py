"""Spelling correction of questions against the index's own vocabulary.

People misspell the very words retrieval needs ("catraact", "prteinuria", "hemroids"): BM25
cannot match them and the embedder barely does. A word of at least :data:`MIN_LENGTH` letters
that neither the indexed documents (:mod:`lumen.ingest.vocabulary`) nor English knows is replaced
by an indexed word that several documents use:

1. one that sounds alike (:func:`skeleton`) within :data:`SOUNDS_ALIKE_EDITS` edits, when no
   target is a single edit away ("hemroids" is hemorrhoids, not the nearer "dermoids");
2. else the nearest by Damerau-Levenshtein edits (a swap of neighbours is one edit), at most
   one for words under :data:`TWO_EDITS_FROM` letters and two from there on, unless an English
   word is nearer ("sorrry" is sorry, not "worry");

among equals the word the most documents use. Shorter words are left alone: too many real words
lie one edit apart. The limits were set on the consumer dev set's tuning questions and a list of
common misspellings (docs/reranking.md).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from lumen.components.embedding.bm25 import fold
from lumen.components.vector_store.base import VectorStore
from lumen.ingest.pipeline import index_generation
from lumen.ingest.vocabulary import VOCABULARY_KEY, merged_vocabulary
from lumen.rag.subjects import FAMILIAR_USES, UNKNOWN_EDITS, find_subjects

MIN_LENGTH = 5
TWO_EDITS_FROM = 8
SOUNDS_ALIKE_EDITS = 3  # a word that sounds like its correction may be this many edits off
MIN_SKELETON = 4  # shorter sound keys ("srs") are shared by too many words
COMMON_ENGLISH = 10_000  # uses in pyspellchecker's list: "sorry" 538,773, "aneurism" 127
_SILENT_STARTS = (("ps", "s"), ("pn", "n"), ("kn", "n"), ("wr", "r"), ("gn", "n"))
_SOUNDS = {"c": "k", "q": "k", "z": "s", "x": "ks"}
_WORD = re.compile(r"[^\W\d_]+")
# Contractions written without their apostrophe: English, though no word list has them.
_CONTRACTIONS = frozenset(
    """
    didnt doesnt arent wasnt werent hasnt havent hadnt couldnt shouldnt wouldnt mustnt neednt
    youre theyre youve theyve youll theyll youd theyd theres heres wheres whats thats
    """.split()
)
_LETTERS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Correction:
    """A question as searched, its replaced words (original, replacement), and its subjects."""

    text: str
    changes: tuple[tuple[str, str], ...] = ()
    subjects: tuple[str, ...] = ()


class SpellingCorrector:
    """Corrects the words of a question that neither the vocabulary nor English knows.

    Args:
        vocabulary: Word → how many indexed documents use it. Any indexed word is left alone;
            only words in at least ``min_documents`` documents are corrections.
        english: English words, never corrected.
        common_english: Everyday English words (default: ``english``): a word nearer to one of
            them than to its correction is left alone ("sorrry" is not "worry").
        two_edits_from: The shortest word that may be two edits from its correction.
        familiar: English words too familiar to be a question's subject; None finds no
            subjects (:mod:`lumen.rag.subjects`).

    """

    def __init__(
        self,
        vocabulary: Mapping[str, int],
        english: Collection[str],
        *,
        common_english: Collection[str] | None = None,
        min_documents: int = 2,
        two_edits_from: int = TWO_EDITS_FROM,
        familiar: Collection[str] | None = None,
    ) -> None:
        self._counts = dict(vocabulary)
        self._familiar = familiar
        self._english = english
        self._common_english = english if common_english is None else common_english
        self._two_edits_from = two_edits_from
        self._targets = _by_length(w for w, n in self._counts.items() if n >= min_documents)
        self._english_by_length: dict[int, list[str]] | None = None
        self._known_by_length: dict[int, list[str]] | None = None  # English and indexed words
        self._skeletons: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self._counts)

    def _sounds_alike(self, word: str) -> tuple[str, int] | None:
        """The commonest target that sounds like ``word``, with its edits (under half the word)."""
        key = skeleton(word)
        if len(key) < MIN_SKELETON:
            return None
        if self._skeletons is None:
            self._skeletons = {}
            for length_words in self._targets.values():
                for target in length_words:
                    self._skeletons.setdefault(skeleton(target), []).append(target)
        from rapidfuzz.distance import DamerauLevenshtein

        limit = min(SOUNDS_ALIKE_EDITS, (len(word) - 1) // 2)
        best: tuple[int, int, str] | None = None
        for target in self._skeletons.get(key, ()):
            edits = DamerauLevenshtein.distance(word, target, score_cutoff=limit)
            if edits <= limit:
                candidate = (edits, -self._counts[target], target)
                best = candidate if best is None or candidate < best else best
        return None if best is None else (best[2], best[0])

    def _limit(self, word: str) -> int:
        return 2 if len(word) >= self._two_edits_from else 1

    def suggest(self, word: str) -> str | None:
        """The correction of one folded word, or None when it is known or nothing is close."""
        if len(word) < MIN_LENGTH or word in self._counts or word in self._english:
            return None
        if word in _CONTRACTIONS or not _LETTERS.fullmatch(word):
            return None
        found = _nearest(word, self._targets, self._limit(word))
        nearest = min(found, key=lambda hit: (-self._counts[hit[0]], hit[0])) if found else None
        if nearest is not None and nearest[1] == 1:
            return nearest[0]
        choice = self._sounds_alike(word) or nearest
        if choice is None:
            return None
        if self._english_by_length is None:
            self._english_by_length = _by_length(self._common_english)
        if _nearest(word, self._english_by_length, choice[1] - 1):
            return None  # an English word is nearer: the writer more likely meant that
        return choice[0]

    def _slip_for_everyday(self, word: str) -> bool:
        if self._english_by_length is None:
            self._english_by_length = _by_length(self._common_english)
        return bool(_nearest(word, self._english_by_length, 1))

    def _near_a_known_word(self, word: str) -> bool:
        if self._known_by_length is None:
            self._known_by_length = _by_length(set(self._english) | set(self._counts))
        return bool(_nearest(word, self._known_by_length, UNKNOWN_EDITS))

    def subjects(self, question: str) -> tuple[str, ...]:
        """The specialised words of ``question`` (:func:`lumen.rag.subjects.find_subjects`)."""
        if self._familiar is None or not self._counts:
            return ()
        return find_subjects(
            question,
            documents=self._counts,
            familiar=self._familiar,
            english=self._english,
            slip_for_everyday=self._slip_for_everyday,
            near_a_known_word=self._near_a_known_word,
        )

    def correct(self, question: str) -> Correction:
        """``question`` with its unknown words replaced by their corrections, and its subjects."""
        if not self._counts:
            return Correction(question)
        changes: list[tuple[str, str]] = []
        parts: list[str] = []
        end = 0
        for match in _WORD.finditer(question):
            original = match.group()
            replacement = self.suggest(fold(original))
            if replacement is None:
                continue
            parts.append(question[end : match.start()])
            parts.append(replacement)
            end = match.end()
            changes.append((original, replacement))
        if not changes:
            return Correction(question, subjects=self.subjects(question))
        parts.append(question[end:])
        corrected = "".join(parts)
        return Correction(corrected, tuple(changes), self.subjects(corrected))


def skeleton(word: str) -> str:
    """How a folded word sounds, roughly: its first letter, then its consonants.

    Silent and doubled letters go ("hemorrhoids" and "hemroids" both give "hmrds"), as do
    vowels after the first letter; c, k and q are one sound, and so are s and z.
    """
    for start, sound in _SILENT_STARTS:
        if word.startswith(start):
            word = sound + word[len(start) :]
            break
    word = word.replace("ph", "f")
    head, tail = word[:1], word[1:]
    tail = "".join(_SOUNDS.get(c, c) for c in tail if c not in "aeiouyhw")
    key = head + tail
    return "".join(c for i, c in enumerate(key) if i == 0 or c != key[i - 1])


def _by_length(words: Iterable[str]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for word in words:
        grouped.setdefault(len(word), []).append(word)
    return grouped


def _nearest(word: str, by_length: Mapping[int, list[str]], limit: int) -> list[tuple[str, int]]:
    """The words at the fewest edits from ``word``, if that is at most ``limit``."""
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    found: list[tuple[str, int]] = []
    for length in range(len(word) - limit, len(word) + limit + 1):
        bucket = by_length.get(length)
        if not bucket:
            continue
        hits = process.extract(
            word, bucket, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=None
        )
        found.extend((candidate, int(distance)) for candidate, distance, _ in hits)
    if not found:
        return []
    fewest = min(distance for _, distance in found)
    return [hit for hit in found if hit[1] == fewest]


@cache
def _english_counts() -> dict[str, int]:
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def english_words() -> frozenset[str]:
    """English words (pyspellchecker's English list, 160,000 words with their frequencies)."""
    return _common(0)


def familiar_english_words() -> frozenset[str]:
    """English words too familiar to be a question's subject (:mod:`lumen.rag.subjects`)."""
    return _common(FAMILIAR_USES)


def common_english_words() -> frozenset[str]:
    """Everyday English words: at least :data:`COMMON_ENGLISH` uses in the list's corpus."""
    return _common(COMMON_ENGLISH)


@cache
def _common(least: int) -> frozenset[str]:
    return frozenset(word for word, count in _english_counts().items() if count >= least)


class IndexSpelling:
    """Spelling correction over the vocabularies the index records for the searched collections.

    A collection's vocabulary is read when first needed and again once its generation changes
    (checked at most every ``recheck_s`` seconds), so a server started before an ingest learns
    the new words without a restart.
    """

    def __init__(
        self,
        store: VectorStore,
        *,
        english: Callable[[], Collection[str]] = english_words,
        common_english: Callable[[], Collection[str]] | None = common_english_words,
        familiar: Callable[[], Collection[str]] | None = familiar_english_words,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._english = english
        self._common_english = common_english
        self._familiar = familiar
        self._recheck_s = recheck_s
        self._clock = clock
        self._lock = threading.Lock()
        self._checked: dict[tuple[str, ...], tuple[float, str, SpellingCorrector]] = {}

    def corrector(self, collections: Sequence[str]) -> SpellingCorrector:
        """The corrector for ``collections`` (their vocabularies merged)."""
        names = tuple(sorted(set(collections)))
        now = self._clock()
        with self._lock:
            cached = self._checked.get(names)
            if cached is not None and now - cached[0] < self._recheck_s:
                return cached[2]
            generation = index_generation(self._store, names)
            if cached is not None and cached[1] == generation:
                self._checked[names] = (now, generation, cached[2])
                return cached[2]
            merged = merged_vocabulary(
                self._store.get_metadata(VOCABULARY_KEY.format(collection=name)) for name in names
            )
            corrector = SpellingCorrector(
                merged,
                self._english() if merged else frozenset(),
                common_english=self._common_english() if merged and self._common_english else None,
                familiar=self._familiar() if merged and self._familiar else None,
            )
            self._checked[names] = (now, generation, corrector)
            return corrector

    def correct(self, question: str, collections: Sequence[str]) -> Correction:
        """``question`` corrected against the vocabularies of ``collections``."""
        return self.corrector(collections).correct(question)
