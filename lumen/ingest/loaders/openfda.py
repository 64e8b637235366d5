"""openFDA drug labels: the reshaped form (sections + openfda_meta) or raw openFDA records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from lumen.documents import DRUGS, Document, Section
from lumen.ingest.loaders.base import Report, files_under, read_text

# Raw-record fields that are not label text.
_NON_TEXT_FIELDS = {
    "id",
    "set_id",
    "version",
    "effective_time",
    "openfda",
    "spl_product_data_elements",
}
_LEADING_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)*\s+")


def _section_title(key: str) -> str:
    base = key.removesuffix("_table")
    title = base.replace("_", " ").strip().capitalize()
    return f"{title} (table)" if key.endswith("_table") else title


def html_table_to_text(html: str) -> str:
    """An HTML table as text: a line per row, cells joined by `` | ``."""
    soup = BeautifulSoup(html, "html.parser")
    lines = []
    caption = soup.find("caption")
    if caption:
        lines.append(caption.get_text(" ", strip=True))
    for row in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in row.find_all(["td", "th"])]
        cells = [c for c in cells if c]
        if cells:
            lines.append(" | ".join(cells))
    if not lines:
        return soup.get_text(" ", strip=True)
    return "\n".join(lines)


def _first(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value if v)
    return str(value) if value else ""


class OpenFDALoader:
    """FDA drug labels into the drugs collection, one section per label section."""

    name = "openfda"
    default_collection = DRUGS
    default_subpath = "drugs"

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every label file under ``path``; the shape is detected per file."""
        for file in files_under(path, (".json",)):
            text = read_text(file, report)
            if text is None:
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                report(file, f"malformed JSON: {exc.msg} at line {exc.lineno}")
                continue
            if not isinstance(record, dict):
                report(file, "expected a label object")
                continue
            if isinstance(record.get("sections"), dict):
                sections = record["sections"]
                meta = record.get("openfda_meta") or {}
                drug_name = str(record.get("drug_name") or "")
            else:
                sections = {k: v for k, v in record.items() if k not in _NON_TEXT_FIELDS}
                meta = record.get("openfda") or {}
                drug_name = ""
            document = self._document(file, sections, meta, drug_name, collection)
            if document is None:
                report(file, "no label sections with text")
                continue
            yield document

    def _document(
        self,
        file: Path,
        sections: dict[str, Any],
        meta: dict[str, Any],
        drug_name: str,
        collection: str,
    ) -> Document | None:
        brand = _first(meta, "brand_name") or drug_name or file.stem.replace("_", " ").title()
        generic = _first(meta, "generic_name").lower()
        title = f"{brand} ({generic})" if generic and generic != brand.lower() else brand
        parts = []
        for key, value in sections.items():
            body = _as_text(value)
            if not body.strip():
                continue
            if key.endswith("_table") or body.lstrip().startswith("<table"):
                body = html_table_to_text(body)
            else:
                body = _LEADING_NUMBER.sub("", body)
            parts.append(Section(title=f"{brand} - {_section_title(key)}", text=body))
        if not parts:
            return None
        set_id = _first(meta, "spl_set_id")
        url = (
            f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"
            if set_id
            else f"file:drugs/{file.name}"
        )
        return Document(
            id=f"openfda:{set_id or file.stem}",
            title=title,
            url=url,
            source=self.name,
            collection=collection,
            sections=tuple(parts),
            metadata={
                "brand_names": list(meta.get("brand_name") or [])[:5],
                "generic_names": list(meta.get("generic_name") or [])[:5],
                "set_id": set_id,
                "product_type": _first(meta, "product_type"),
                "route": list(meta.get("route") or [])[:5],
            },
        )
