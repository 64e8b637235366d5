"""The data that flows through ingestion: documents from loaders, chunks from the chunker."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# The standard collections, named here only: the rest of Lumen imports these.
CollectionName = Literal["knowledge", "drugs", "regulatory"]
STANDARD_COLLECTIONS: tuple[CollectionName, ...] = get_args(CollectionName)
KNOWLEDGE, DRUGS, REGULATORY = STANDARD_COLLECTIONS
#: Any collection's name (uploads create collections beside the standard ones).
COLLECTION_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


@dataclass(frozen=True)
class Section:
    """A titled part of a document; the chunker keeps the title with every chunk cut from it."""

    title: str
    text: str


@dataclass(frozen=True)
class Document:
    """One source document as a loader yields it.

    ``id`` is stable across runs (the same file gives the same id), ``url`` is a public link or a
    stable source reference (``pubmed:123``, ``file:relative/path``), ``source`` names the loader
    (``medquad``, ``pubmedqa``, ``openfda``, ...), ``collection`` the target collection.
    """

    id: str
    title: str
    url: str
    source: str
    collection: str
    sections: tuple[Section, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The whole document as plain text, sections separated by blank lines."""
        return "\n\n".join(f"{s.title}\n{s.text}" if s.title else s.text for s in self.sections)

    @property
    def content_hash(self) -> str:
        """A hash of everything that ends up in the index; it changes when the content does."""
        digest = hashlib.sha256()
        for part in (self.title, self.url, self.collection):
            digest.update(part.encode())
            digest.update(b"\0")
        for section in self.sections:
            digest.update(section.title.encode())
            digest.update(b"\0")
            digest.update(section.text.encode())
            digest.update(b"\0")
        return digest.hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough for the embedding model's window."""

    id: str
    doc_id: str
    collection: str
    source: str
    title: str
    section: str
    url: str
    text: str
    position: int
    n_chunks: int
    doc_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def display_title(self) -> str:
        """Document and section title for people, without saying the document's name twice."""
        if not self.section or self.section == self.title:
            return self.title
        name = self.title.split(" (")[0]
        if name and self.section.startswith(name):
            return self.section
        return f"{self.title} - {self.section}"

    @property
    def page(self) -> str:
        """What makes chunks one source for citing: their URL, else their document."""
        return f"url:{self.url}" if self.url else f"doc:{self.doc_id}"

    @property
    def embed_text(self) -> str:
        """The text that is embedded and indexed: titles first, so they count in matching."""
        parts = [self.title] if self.title else []
        if self.section and self.section != self.title:
            parts.append(self.section)
        heading = " - ".join(parts)
        return f"{heading}\n{self.text}" if heading else self.text


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk chosen for the answer: its fused score and its rank under each retriever."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
