"""Token-aware chunking: whole sentences packed to fit the embedding model's window.

Every chunk's embedded text (document title, section title and body) fits in ``chunk_tokens``
tokens of the embedding model's own tokenizer, special tokens included. Chunks never cross a
section boundary; neighbours within a section share up to ``overlap_tokens`` tokens of whole
sentences. A sentence longer than the budget is cut at token boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from lumen.components.model_files import minilm_dir
from lumen.documents import Chunk, Document
from lumen.textutil import normalize_whitespace, split_sentences

_SPECIAL_TOKENS = 2  # [CLS] and [SEP]
_MIN_BODY_TOKENS = 24


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int


class Chunker:
    """Cuts documents into chunks that fit the embedding window."""

    def __init__(self, tokenizer: Tokenizer, *, chunk_tokens: int = 200, overlap_tokens: int = 32):
        if overlap_tokens >= chunk_tokens // 2:
            raise ValueError("overlap_tokens must be under half of chunk_tokens")
        self._tokenizer = tokenizer
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._chunk_tokens = chunk_tokens
        self._overlap_tokens = overlap_tokens

    @classmethod
    def for_minilm(cls, chunk_tokens: int = 200, overlap_tokens: int = 32) -> Chunker:
        """A chunker using all-MiniLM-L6-v2's tokenizer."""
        path: Path = minilm_dir() / "tokenizer.json"
        return cls(
            Tokenizer.from_file(str(path)), chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def chunk(self, document: Document) -> list[Chunk]:
        """The document's chunks, positions 0..n-1 across all sections."""
        bodies: list[tuple[str, str]] = []
        for section in document.sections:
            text = normalize_whitespace(section.text)
            if not text:
                continue
            heading_parts = [document.title] if document.title else []
            if section.title and section.title != document.title:
                heading_parts.append(section.title)
            heading = " - ".join(heading_parts)
            budget = self._chunk_tokens - _SPECIAL_TOKENS
            if heading:
                budget -= self.count_tokens(heading) + 1  # the newline between heading and body
            budget = max(budget, _MIN_BODY_TOKENS)
            for body in self._pack(split_sentences(text), budget):
                bodies.append((section.title, body))
        doc_hash = document.content_hash
        return [
            Chunk(
                id=f"{document.id}#{position}",
                doc_id=document.id,
                collection=document.collection,
                source=document.source,
                title=document.title,
                section=section_title,
                url=document.url,
                text=body,
                position=position,
                n_chunks=len(bodies),
                doc_hash=doc_hash,
                metadata=dict(document.metadata),
            )
            for position, (section_title, body) in enumerate(bodies)
        ]

    def _pieces(self, sentences: list[str], budget: int) -> list[_Piece]:
        """Sentences with their token counts; over-long ones cut into budget-sized pieces."""
        if not sentences:
            return []
        encodings = self._tokenizer.encode_batch(sentences, add_special_tokens=False)
        pieces: list[_Piece] = []
        for sentence, encoding in zip(sentences, encodings, strict=True):
            count = len(encoding.ids)
            if count <= budget:
                pieces.append(_Piece(sentence, count))
                continue
            offsets = encoding.offsets
            for start in range(0, count, budget):
                window = offsets[start : start + budget]
                text = sentence[window[0][0] : window[-1][1]].strip()
                if text:
                    pieces.append(_Piece(text, self.count_tokens(text)))
        return pieces

    def _pack(self, sentences: list[str], budget: int) -> list[str]:
        """Greedy packing of whole sentences, carrying an overlap into the next chunk."""
        pieces = self._pieces(sentences, budget)
        chunks: list[str] = []
        current: list[_Piece] = []
        used = 0
        fresh = False  # whether ``current`` holds anything not already in the previous chunk
        for piece in pieces:
            cost = piece.tokens + (1 if current else 0)
            if current and used + cost > budget:
                chunks.append(" ".join(p.text for p in current))
                current, used = self._overlap(current, budget - piece.tokens - 1)
                fresh = False
                cost = piece.tokens + (1 if current else 0)
            current.append(piece)
            used += cost
            fresh = True
        if current and fresh:
            chunks.append(" ".join(p.text for p in current))
        return chunks

    def _overlap(self, previous: list[_Piece], room: int) -> tuple[list[_Piece], int]:
        """The trailing sentences of ``previous`` that fit the overlap and leave ``room``."""
        limit = min(self._overlap_tokens, room)
        kept: list[_Piece] = []
        used = 0
        for piece in reversed(previous):
            cost = piece.tokens + (1 if kept else 0)
            if used + cost > limit:
                break
            kept.insert(0, piece)
            used += cost
        return kept, used
