"""FDA regulatory Markdown with YAML front matter, split by heading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lumen.documents import REGULATORY, Document
from lumen.ingest.loaders.base import Report, files_under, read_text
from lumen.ingest.loaders.markdown import split_by_headings, split_front_matter


def _scalars(data: dict[str, Any]) -> dict[str, str]:
    """Flat scalar fields of the front matter (nested mappings are flattened one level)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, item in value.items():
                if isinstance(item, str | int | float) and not isinstance(item, bool):
                    flat.setdefault(str(inner), str(item))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            flat[str(key)] = str(value)
        elif hasattr(value, "isoformat"):
            flat[str(key)] = value.isoformat()
    return flat


class RegulatoryLoader:
    """FD&C Act sections, 21 CFR parts, FDA guidance and complete response letters."""

    name = "regulatory"
    default_collection = REGULATORY
    default_subpath = "regulatory"

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """One document per Markdown file under ``path``."""
        root = path if path.is_dir() else path.parent
        for file in files_under(path, (".md", ".markdown")):
            text = read_text(file, report)
            if text is None:
                continue
            front, body = split_front_matter(text)
            meta = _scalars(front)
            sections = split_by_headings(body)
            if not sections:
                report(file, "no text")
                continue
            relative = file.relative_to(root).with_suffix("").as_posix()
            is_letter = "application_number" in meta or "complete_response" in file.as_posix()
            title = (
                _letter_title(meta)
                if is_letter
                else _join(meta.get("chunk_id"), meta.get("chunk_title")) or meta.get("title")
            )
            title = title or sections[0].title or file.stem.replace("_", " ")
            url = next(
                (v for k, v in meta.items() if k in ("url", "source_url") and "://" in v),
                f"file:regulatory/{relative}.md",
            )
            yield Document(
                id=f"regulatory:{relative}",
                title=title,
                url=url,
                source=self.name,
                collection=collection,
                sections=tuple(sections),
                metadata={
                    "kind": "complete_response_letter" if is_letter else "fda",
                    **{k: v for k, v in meta.items() if len(v) <= 200},
                },
            )


def _join(*parts: str | None) -> str:
    return " - ".join(p for p in parts if p)


def _letter_title(meta: dict[str, str]) -> str:
    product = (
        meta.get("proprietary_name")
        or meta.get("drug_name")
        or meta.get("generic_name")
        or meta.get("product")
        or "unnamed product"
    )
    application = meta.get("application_number", "")
    return f"Complete response letter: {product}" + (f" ({application})" if application else "")
