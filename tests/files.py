"""Small real files for upload tests: a text PDF, a malformed PDF, a decompression bomb."""

from __future__ import annotations

import zlib


def _pdf(content: bytes, *, extra_stream_dict: bytes = b"") -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length "
        + str(len(content)).encode()
        + extra_stream_dict
        + b" >>\nstream\n"
        + content
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
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
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def text_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows ``text`` (ASCII, no parentheses)."""
    return _pdf(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())


def bomb_pdf(decompressed_bytes: int = 120_000_000) -> bytes:
    """A PDF whose page stream inflates to ``decompressed_bytes`` (a few hundred KB on disk)."""
    return _pdf(
        zlib.compress(b"\0" * decompressed_bytes, 9), extra_stream_dict=b" /Filter /FlateDecode"
    )


def malformed_pdf() -> bytes:
    """A file that starts like a PDF and is not one."""
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R\nstream\x00\x01garbage\n%%EOF\n"
