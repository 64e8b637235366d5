"""Token-aware chunking: whole sentences packed to fit the embedding model's window.

Every chunk's embedded text (:attr:`Chunk.embed_text`: document title, section title and body)
fits in ``chunk_tokens`` tokens of the embedding model's own tokenizer, its special tokens
([CLS], [SEP]) included. Chunks never cross a section boundary. Sentences are packed greedily;
neighbours within a section share up to ``overlap_tokens`` tokens of whole trailing sentences.
A sentence longer than the budget is cut into token windows at word boundaries.

Token counts are exact, not estimated: each section is tokenised once (in a batch with its
neighbours) and a chunk's count is read off the token offsets. WordPiece tokenisation does not
cross whitespace or punctuation, so a chunk cut at sentence or word boundaries tokenises alone
exactly as it did inside the section.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Encoding, Tokenizer

from lumen.components.model_files import minilm_dir
from lumen.documents import Chunk, Document
from lumen.textutil import normalize_whitespace, sentence_spans

logger = logging.getLogger(__name__)

#: The body keeps at least this share of the budget; longer headings are shortened.
_MIN_BODY_SHARE = 0.5


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a window of an over-long one): character span and token span."""

    start: int
    end: int
    first_token: int
    end_token: int


@dataclass(frozen=True)
class _Heading:
    """A section's chunk title, section title and the tokens they take in ``embed_text``."""

    title: str
    section: str
    tokens: int


class Chunker:
    """Cuts documents into chunks whose ``embed_text`` fits the embedding window."""

    def __init__(self, tokenizer: Tokenizer, chunk_tokens: int = 200, overlap_tokens: int = 32):
        """Chunk with ``tokenizer`` (a copy, set to no truncation and no padding).

        The overlap is capped at half of a section's body budget, so chunking always advances.
        """
        if chunk_tokens < 16:
            raise ValueError(f"chunk_tokens must be at least 16, not {chunk_tokens}")
        if overlap_tokens < 0:
            raise ValueError(f"overlap_tokens must not be negative, not {overlap_tokens}")
        # A private copy: truncation or padding set elsewhere would corrupt the counts.
        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._special = self._tokenizer.num_special_tokens_to_add(False)
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens

    @classmethod
    def for_minilm(cls, chunk_tokens: int = 200, overlap_tokens: int = 32) -> Chunker:
        """A chunker with all-MiniLM-L6-v2's tokenizer (the packaged ``tokenizer.json``)."""
        path: Path = minilm_dir() / "tokenizer.json"
        return cls(Tokenizer.from_file(str(path)), chunk_tokens, overlap_tokens)

    def count_tokens(self, text: str, *, special: bool = False) -> int:
        """Tokens in ``text``; with ``special``, the model's [CLS] and [SEP] are counted too."""
        count = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return count + (self._special if special else 0)

    def chunk(self, document: Document) -> list[Chunk]:
        """The document's chunks, positions 0..n-1 across its sections; [] if it has no text."""
        texts: list[str] = []
        titles: list[str] = []
        for section in document.sections:
            text = normalize_whitespace(section.text)
            if text:
                texts.append(text)
                titles.append(section.title)
        if not texts:
            return []
        headings = self._headings(document.title, titles)
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        pieces: list[tuple[_Heading, str]] = []
        for text, heading, encoding in zip(texts, headings, encodings, strict=True):
            budget = self.chunk_tokens - self._special - heading.tokens
            for start, end in self._split(text, encoding, budget):
                pieces.append((heading, text[start:end]))
        doc_hash = document.content_hash
        return [
            Chunk(
                id=f"{document.id}#{position}",
                doc_id=document.id,
                collection=document.collection,
                source=document.source,
                title=heading.title,
                section=heading.section,
                url=document.url,
                text=body,
                position=position,
                n_chunks=len(pieces),
                doc_hash=doc_hash,
                metadata=dict(document.metadata),
            )
            for position, (heading, body) in enumerate(pieces)
        ]

    # --- headings -------------------------------------------------------------------------

    def _headings(self, title: str, sections: Sequence[str]) -> list[_Heading]:
        """Each section's heading as ``Chunk.embed_text`` writes it, shortened if too long."""
        title = " ".join(title.split())
        names = [" ".join(name.split()) for name in sections]
        unique = sorted(set(names))
        texts = [_heading_text(title, name) for name in unique]
        counts = [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]
        limit = int((self.chunk_tokens - self._special) * (1 - _MIN_BODY_SHARE))
        by_name: dict[str, _Heading] = {}
        for name, count in zip(unique, counts, strict=True):
            if count <= limit:
                by_name[name] = _Heading(title, name, count)
            else:
                by_name[name] = self._shorten(title, name, limit)
        return [by_name[name] for name in names]

    def _shorten(self, title: str, section: str, limit: int) -> _Heading:
        """Cut the document title to half of ``limit`` and the section title to the rest."""
        distinct = bool(section) and section != title
        title = self._truncate(title, limit // 2 if distinct else limit)
        if distinct:
            room = limit - self.count_tokens(_heading_text(title, ""), special=False) - 1
            section = self._truncate(section, max(room, 1))
        heading = _heading_text(title, section)
        count = self.count_tokens(heading, special=False)
        while count > limit and section:
            section = " ".join(section.split()[:-1])
            heading = _heading_text(title, section)
            count = self.count_tokens(heading, special=False)
        logger.debug("shortened a long heading to %r", heading)
        return _Heading(title, section, count)

    def _truncate(self, text: str, limit: int) -> str:
        """The longest prefix of ``text`` within ``limit`` tokens, cut before a word."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= limit:
            return text
        cut = _word_start(encoding.tokens, limit, 0)
        return text[: encoding.offsets[cut][0]].rstrip(" ,;:-") if cut > 0 else ""

    # --- packing --------------------------------------------------------------------------

    def _split(self, text: str, encoding: Encoding, budget: int) -> list[tuple[int, int]]:
        """Character spans of the chunks of one section body."""
        units = self._units(text, encoding, budget)
        if not units:
            return []
        chunks: list[tuple[int, int]] = []
        first = 0
        while first < len(units):
            last = first
            start_token = units[first].first_token
            while last + 1 < len(units) and units[last + 1].end_token - start_token <= budget:
                last += 1
            chunks.append((units[first].start, units[last].end))
            if last + 1 >= len(units):
                break
            first = self._overlap_start(units, first, last, budget)
        return chunks

    def _overlap_start(self, units: list[_Unit], first: int, last: int, budget: int) -> int:
        """Where the next chunk starts: trailing sentences of this one that fit the overlap."""
        following = units[last + 1]
        overlap = min(self.overlap_tokens, budget // 2)
        start = last + 1
        candidate = last
        while candidate > first:
            unit = units[candidate]
            shared = units[last].end_token - unit.first_token
            if shared > overlap or following.end_token - unit.first_token > budget:
                break
            start = candidate
            candidate -= 1
        return start

    def _units(self, text: str, encoding: Encoding, budget: int) -> list[_Unit]:
        """Sentences with their token spans; over-long sentences cut into token windows."""
        offsets = encoding.offsets
        starts = [offset[0] for offset in offsets]
        units: list[_Unit] = []
        for start, end in sentence_spans(text):
            first = bisect.bisect_left(starts, start)
            stop = bisect.bisect_left(starts, end, first)
            if stop == first:
                continue  # nothing the model sees (control characters)
            if stop - first <= budget:
                units.append(_Unit(start, end, first, stop))
            else:
                units.extend(self._windows(encoding, first, stop, budget, end))
        return units

    def _windows(
        self, encoding: Encoding, first: int, stop: int, budget: int, end: int
    ) -> list[_Unit]:
        """Windows of at most ``budget`` tokens over tokens ``first..stop``, at word starts.

        Consecutive windows share up to ``overlap_tokens`` tokens, like sentences do.
        """
        tokens = encoding.tokens
        offsets = encoding.offsets
        overlap = min(self.overlap_tokens, budget // 2)
        windows: list[_Unit] = []
        begin = first
        while begin < stop:
            cut = min(begin + budget, stop)
            if cut < stop:
                word = _word_start(tokens, cut, begin + 1)
                if not tokens[word].startswith("##"):
                    cut = word  # else one word is longer than the budget: cut inside it
            char_end = end if cut == stop else offsets[cut - 1][1]
            windows.append(_Unit(offsets[begin][0], char_end, begin, cut))
            if cut >= stop:
                break
            following = _word_start(tokens, max(cut - overlap, begin + 1), begin + 1)
            begin = following if not tokens[following].startswith("##") else cut
        return windows


def _heading_text(title: str, section: str) -> str:
    """The heading line of ``Chunk.embed_text`` for these titles."""
    probe = Chunk(
        id="",
        doc_id="",
        collection="",
        source="",
        title=title,
        section=section,
        url="",
        text="",
        position=0,
        n_chunks=0,
        doc_hash="",
    )
    return probe.embed_text.removesuffix("\n")


def _word_start(tokens: list[str], index: int, floor: int) -> int:
    """The nearest token index at or before ``index`` (and above ``floor - 1``) starting a word."""
    while index > floor and tokens[index].startswith("##"):
        index -= 1
    return index
