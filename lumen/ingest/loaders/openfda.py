"""openFDA drug labels, in either of two shapes, detected per file.

* Reshaped labels: ``{drug_name, drug_id, sections{field: text, field_table: HTML},
  openfda_meta{brand_name[], generic_name[], spl_set_id[], ...}}``.
* Raw openFDA ``drug/label`` records: ``{field: [text] or null, ..., openfda?{...}}``; also a
  list of them, or an API response ``{"results": [...]}``.

One document per label; one section per label section, titled with the drug's name first
(``Abacavir - Drug interactions``) so that every chunk says which drug it is about. HTML tables
become text rows (cells joined by `` | ``), one section per table.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from lumen.documents import DRUGS, Document, Section
from lumen.ingest.loaders.base import Report, list_files, read_text
from lumen.textutil import normalize_whitespace

logger = logging.getLogger(__name__)

#: Human titles of openFDA label fields, in the order sections are kept.
SECTION_TITLES: dict[str, str] = {
    "boxed_warning": "Boxed warning",
    "indications_and_usage": "Indications and usage",
    "purpose": "Purpose",
    "active_ingredient": "Active ingredient",
    "dosage_and_administration": "Dosage and administration",
    "dosage_forms_and_strengths": "Dosage forms and strengths",
    "contraindications": "Contraindications",
    "do_not_use": "Do not use",
    "warnings_and_cautions": "Warnings and precautions",
    "warnings": "Warnings",
    "precautions": "Precautions",
    "general_precautions": "General precautions",
    "ask_doctor": "Ask a doctor before use",
    "ask_doctor_or_pharmacist": "Ask a doctor or pharmacist before use",
    "stop_use": "Stop use and ask a doctor",
    "when_using": "When using this product",
    "pregnancy_or_breast_feeding": "Pregnancy or breast-feeding",
    "keep_out_of_reach_of_children": "Keep out of reach of children",
    "drug_interactions": "Drug interactions",
    "adverse_reactions": "Adverse reactions",
    "use_in_specific_populations": "Use in specific populations",
    "pregnancy": "Pregnancy",
    "lactation": "Lactation",
    "nursing_mothers": "Nursing mothers",
    "pediatric_use": "Pediatric use",
    "geriatric_use": "Geriatric use",
    "overdosage": "Overdosage",
    "description": "Description",
    "clinical_pharmacology": "Clinical pharmacology",
    "mechanism_of_action": "Mechanism of action",
    "pharmacodynamics": "Pharmacodynamics",
    "pharmacokinetics": "Pharmacokinetics",
    "information_for_patients": "Information for patients",
    "patient_counseling_information": "Patient counseling information",
    "inactive_ingredient": "Inactive ingredients",
    "other_safety_information": "Other safety information",
    "storage_and_handling": "Storage and handling",
    "how_supplied": "How supplied",
    "questions": "Questions",
}
_ORDER = {key: index for index, key in enumerate(SECTION_TITLES)}
# Raw-record fields that are identifiers, packaging or indexing data, not label prose.
_SKIPPED_FIELDS = frozenset(
    {
        "id",
        "set_id",
        "version",
        "effective_time",
        "openfda",
        "spl_product_data_elements",
        "spl_indexing_data_elements",
        "package_label_principal_display_panel",
        "spl_unclassified_section",
        "recent_major_changes",
        "references",
    }
)
_MAX_NAME_CHARS = 60
_BLOCK_TAGS = frozenset({"paragraph", "p", "br", "div", "li", "item", "list", "ul", "ol"})


def html_tables_to_text(markup: str) -> list[tuple[str, str]]:
    """Each HTML table in ``markup`` as ``(caption, text)``: a line per row, cells by `` | ``.

    Footnotes inside cells are moved below the rows; markup that holds no table yields its
    plain text as one entry with an empty caption.
    """
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    tables = [t for t in root.iter() if _local(t) == "table"]
    if not tables:
        text = normalize_whitespace(root.text_content())
        return [("", text)] if text else []
    results: list[tuple[str, str]] = []
    for table in tables:
        notes: list[str] = []
        for note in [n for n in table.iter() if _local(n) == "footnote"]:
            content = " ".join(note.text_content().split())
            if content:
                notes.append(content)
            _drop(note)
        caption = ""
        lines: list[str] = []
        for element in table.iter():
            name = _local(element)
            if name == "caption":
                caption = " ".join(element.text_content().split())
            elif name == "tr":
                cells = [_cell_text(cell) for cell in element if _local(cell) in ("td", "th")]
                cells = [cell for cell in cells if cell]
                if cells:
                    lines.append(" | ".join(cells))
        if not caption and lines and " | " not in lines[0]:
            caption = lines[0]  # a title row spanning the table
        lines = ([caption] if caption and (not lines or lines[0] != caption) else []) + lines
        lines += [f"Note: {note}" for note in notes]
        if lines:
            results.append((caption, "\n".join(lines)))
    return results


def _cell_text(cell: Any) -> str:
    """A cell's text, with a space where block elements (paragraphs, breaks) meet."""
    for element in cell.iter():
        if element is not cell and _local(element) in _BLOCK_TAGS:
            element.tail = " " + (element.tail or "")
            element.text = " " + (element.text or "")
    return " ".join(cell.text_content().split())


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _drop(element: Any) -> None:
    """Remove ``element`` but keep the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and str(v).strip()]
    return []


def _first(meta: Mapping[str, Any], key: str) -> str:
    values = _strings(meta.get(key))
    return " ".join(values[0].split()) if values else ""


def _short(text: str) -> str:
    if len(text) <= _MAX_NAME_CHARS:
        return text
    return text[: _MAX_NAME_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;") + "\u2026"


def _field_title(key: str) -> str:
    base = key.removesuffix("_table")
    return SECTION_TITLES.get(base) or base.replace("_", " ").strip().capitalize()


def _strip_heading(text: str, title: str) -> str:
    """Drop a leading ``5 WARNINGS AND PRECAUTIONS`` that repeats the section title."""
    words = [re.escape(word) for word in title.upper().split()]
    pattern = r"\s*(?:\d+(?:\.\d+)*\.?\s+)?" + r"\s+".join(words).replace("AND", "(?:AND|&)")
    match = re.match(pattern + r"\b[\s:.]*", text)
    return text[match.end() :] if match and match.end() < len(text) else text


class OpenFDALoader:
    """FDA drug labels into the drugs collection."""

    name = "openfda"
    sources: tuple[str, ...] = ("openfda",)
    default_collection = DRUGS
    default_subpath = "drugs"

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Every label in the JSON files under ``path``; the shape is detected per file."""
        seen: set[str] = set()
        for file in list_files(path, (".json",), report):
            text = read_text(file, report)
            if text is None:
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                report(file, f"malformed JSON: {exc.msg} (line {exc.lineno})")
                continue
            records = self._records(data)
            if records is None:
                report(file, "not an openFDA label: expected an object or a list of objects")
                continue
            produced = 0
            for index, record in enumerate(records):
                stem = file.stem if len(records) == 1 else f"{file.stem}-{index + 1}"
                document = self._document(file, stem, record, collection)
                if document is None:
                    continue
                if document.id in seen:
                    # Two files of one label (a combination product listed under each drug).
                    document = _with_id(document, f"{document.id}:{stem}")
                seen.add(document.id)
                produced += 1
                yield document
            if not produced:
                report(file, "no label sections with text")

    @staticmethod
    def _records(data: Any) -> list[dict[str, Any]] | None:
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data = data["results"]
        if isinstance(data, dict):
            return [data]
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            return data
        return None

    def _document(
        self, file: Path, stem: str, record: dict[str, Any], collection: str
    ) -> Document | None:
        if isinstance(record.get("sections"), dict):
            fields: dict[str, Any] = record["sections"]
            meta = record.get("openfda_meta") or record.get("openfda") or {}
        else:
            fields = {k: v for k, v in record.items() if k not in _SKIPPED_FIELDS}
            meta = record.get("openfda") or {}
        if not isinstance(meta, dict):
            meta = {}
        generic = _first(meta, "generic_name")
        brand = _first(meta, "brand_name")
        drug = " ".join(str(record.get("drug_name") or "").split())
        name = drug or brand or generic.title() or _name_from_stem(stem)
        sections = self._sections(name, fields)
        if not sections:
            return None
        set_id = _first(meta, "spl_set_id") or str(record.get("set_id") or "").strip()
        url = (
            f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"
            if set_id
            else f"file:drugs/{file.name}"
        )
        return Document(
            id=f"openfda:{set_id or stem}",
            title=_title(name, generic, brand),
            url=url,
            source=self.name,
            collection=collection,
            sections=tuple(sections),
            metadata={
                "drug_name": name,
                "brand_names": _strings(meta.get("brand_name"))[:5],
                "generic_names": _strings(meta.get("generic_name"))[:5],
                "set_id": set_id,
                "product_type": _first(meta, "product_type"),
                "route": _strings(meta.get("route"))[:5],
            },
        )

    @staticmethod
    def _sections(name: str, fields: dict[str, Any]) -> list[Section]:
        keys = sorted(fields, key=lambda k: (_ORDER.get(k.removesuffix("_table"), len(_ORDER)),))
        sections: list[Section] = []
        for key in keys:
            values = _strings(fields[key])
            if not values:
                continue
            title = _field_title(key)
            markup = "\n".join(values)
            if key.endswith("_table") or markup.lstrip().lower().startswith("<table"):
                for caption, table in html_tables_to_text(markup):
                    label = f"{title} table" + (f": {_short(caption)}" if caption else "")
                    sections.append(Section(f"{name} - {label}", table))
                continue
            text = normalize_whitespace("\n\n".join(_strip_heading(v, title) for v in values))
            if text:
                sections.append(Section(f"{name} - {title}", text))
        return sections


def _name_from_stem(stem: str) -> str:
    """A drug name from a file name: ``warfarin`` or ``openfda_raw-warfarin`` -> ``Warfarin``."""
    parts = stem.split("-")
    while len(parts) > 1 and parts[0].lower().startswith("openfda"):
        parts.pop(0)
    name = " ".join("-".join(parts).replace("_", " ").split())
    return name[:1].upper() + name[1:]


def _title(name: str, generic: str, brand: str) -> str:
    """``Abacavir (abacavir)``; a distinct brand joins the generic: ``X (x sodium; Brand)``."""
    parts: list[str] = []
    if generic:
        parts.append(_short(generic.lower()))
    if brand and brand.lower() not in (name.lower(), generic.lower()):
        parts.append(_short(brand))
    return f"{name} ({'; '.join(parts)})" if parts else name


def _with_id(document: Document, new_id: str) -> Document:
    return Document(
        id=new_id,
        title=document.title,
        url=document.url,
        source=document.source,
        collection=document.collection,
        sections=document.sections,
        metadata=document.metadata,
    )
