"""Fixtures for the ingest tests: the shared datasets, the real tokenizer, small files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from lumen.components.model_files import minilm_dir
from lumen.ingest.chunking import Chunker

REPO = Path(__file__).resolve().parents[2]


class Problems(list[tuple[Path, str]]):
    """A ``report`` callback that keeps what it is told."""

    def __call__(self, path: Path, message: str) -> None:
        self.append((path, message))

    @property
    def names(self) -> list[str]:
        return [path.name for path, _ in self]


@pytest.fixture(scope="session")
def sources_dir() -> Path:
    """The shared datasets (LUMEN_PATHS__SOURCES_DIR, else ../shared/data beside the repo)."""
    configured = os.environ.get("LUMEN_PATHS__SOURCES_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    if not (path / "medquad").is_dir():
        pytest.skip(
            f"shared datasets not found at {path}: set LUMEN_PATHS__SOURCES_DIR to the folder "
            "that holds medquad/, pubmedqa/, drugs/ and regulatory/"
        )
    return path


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """MiniLM's tokenizer as the embedder uses it, without truncation: to count tokens."""
    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


@pytest.fixture(scope="session")
def count(tokenizer: Tokenizer) -> Callable[[str], int]:
    """Tokens the model sees for a text, [CLS] and [SEP] included."""

    def count_tokens(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count_tokens


@pytest.fixture(scope="session")
def chunker() -> Chunker:
    """The default settings: 200 tokens, 32 of overlap."""
    return Chunker.for_minilm(200, 32)


@pytest.fixture(scope="session")
def small_chunker() -> Chunker:
    """A small window, so that short texts already need several chunks."""
    return Chunker.for_minilm(64, 16)


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (ASCII, no parentheses)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
            + f"] /Count {len(pages)} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@pytest.fixture
def make_pdf() -> Callable[[list[str]], bytes]:
    return minimal_pdf
