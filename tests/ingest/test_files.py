"""The generic files loader on small files made here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from lumen.ingest.loaders import get_loader

from .conftest import Problems

MakePdf = Callable[[list[str]], bytes]


def load(path: Path, problems: Problems, **options: str) -> dict:  # type: ignore[type-arg]
    loader = get_loader("files", **options)
    return {d.id: d for d in loader.load(path, collection="notes", report=problems)}


@pytest.fixture
def folder(tmp_path: Path, make_pdf: MakePdf) -> Path:
    (tmp_path / "notes.jsonl").write_text(
        json.dumps({"id": "a", "title": "Fever", "text": "Drink fluids.", "url": "https://x.org/a"})
        + "\n{not json}\n"
        + json.dumps({"title": "No text"})
        + "\n\n"
        + json.dumps({"content": "Rest helps.", "year": 2020, "tags": ["x"]})
        + "\n[1, 2]\n",
        encoding="utf-8",
    )
    (tmp_path / "guide.md").write_text(
        "---\ntitle: Guide\n---\n# Rest\nSleep well, and\nnap.\n## More\n![x](y.png) See [this](http://z).\n",
        encoding="utf-8",
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "plain.txt").write_text("Wash your hands\noften.\n\nDry them.", encoding="utf-8")
    (sub / "page.htm").write_text(
        "<html><head><title>Heat page</title><style>p {color: red}</style>"
        "<script>var secret = 'SCRIPT';</script></head><body><nav>Home | Menu</nav>"
        "<h1>Heat</h1><p>Stay <b>cool</b>\n and drink.</p><ul><li>Shade</li><li>Water</li></ul>"
        "<h2>Signs</h2><p>Dizziness<br>Nausea</p><!-- a comment -->"
        "<table><tr><th>Age</th><th>Risk</th></tr><tr><td>65+</td><td>High</td></tr></table>"
        "<h3>Also</h3><p>Cramps.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "leaflet.pdf").write_bytes(
        make_pdf(["Take one tablet daily.", "Store below 25 C."])
    )
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with (tmp_path / "blank.pdf").open("wb") as handle:
        writer.write(handle)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage that is not a PDF")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / ".hidden.md").write_text("# Hidden", encoding="utf-8")
    return tmp_path


def test_a_folder_of_mixed_files(folder: Path, problems: Problems) -> None:
    docs = load(folder, problems)
    assert set(docs) == {
        "a",
        "file:notes.jsonl#5",
        "file:guide.md",
        "file:sub/plain.txt",
        "file:sub/page.htm",
        "file:leaflet.pdf",
    }
    assert all(d.source == "files" and d.collection == "notes" for d in docs.values())

    fever = docs["a"]
    assert (fever.title, fever.url, fever.text) == ("Fever", "https://x.org/a", "Drink fluids.")
    rest = docs["file:notes.jsonl#5"]
    assert rest.url == "file:notes.jsonl"
    assert rest.title == "notes"
    assert rest.metadata == {"path": "notes.jsonl", "line": 5, "year": 2020}

    guide = docs["file:guide.md"]
    assert guide.title == "Guide"
    assert guide.url == "file:guide.md"
    assert [(s.title, s.text) for s in guide.sections] == [
        ("Rest", "Sleep well, and nap."),
        ("Rest > More", "See this."),
    ]

    plain = docs["file:sub/plain.txt"]
    assert plain.title == "plain"
    assert plain.text == "Wash your hands often.\n\nDry them."

    page = docs["file:sub/page.htm"]
    assert page.title == "Heat page"
    assert [(s.title, s.text) for s in page.sections] == [
        ("Heat", "Stay cool and drink.\n\n- Shade\n- Water"),
        ("Heat > Signs", "Dizziness\nNausea\n\nAge | Risk\n65+ | High"),
        ("Heat > Signs > Also", "Cramps."),
    ]
    assert "SCRIPT" not in page.text
    assert "Menu" not in page.text
    assert "color" not in page.text

    leaflet = docs["file:leaflet.pdf"]
    assert [(s.title, s.text) for s in leaflet.sections] == [
        ("Page 1", "Take one tablet daily."),
        ("Page 2", "Store below 25 C."),
    ]
    assert leaflet.metadata["pages"] == 2

    reported = sorted((p.name, m.split(":")[0]) for p, m in problems)
    assert reported == [
        ("blank.pdf", "no extractable text in the PDF (scanned pages?)"),
        ("broken.pdf", "unreadable PDF"),
        ("notes.jsonl", "line 2"),
        ("notes.jsonl", "line 3"),
        ("notes.jsonl", "line 6"),
    ]


def test_reloading_gives_the_same_ids(folder: Path) -> None:
    first = load(folder, Problems())
    second = load(folder, Problems())
    assert {k: v.content_hash for k, v in first.items()} == {
        k: v.content_hash for k, v in second.items()
    }
    # A subfolder is its own root: ids are relative to the path given.
    assert set(load(folder / "sub", Problems())) == {"file:plain.txt", "file:page.htm"}


def test_jsonl_text_field_option(tmp_path: Path, problems: Problems) -> None:
    (tmp_path / "qa.jsonl").write_text(
        json.dumps({"id": 7, "answer": "Ibuprofen eases pain.", "text": "ignored"}) + "\n",
        encoding="utf-8",
    )
    docs = load(tmp_path / "qa.jsonl", problems, text_field="answer")
    assert [(d.id, d.text) for d in docs.values()] == [("7", "Ibuprofen eases pain.")]
    assert not problems


def test_single_bad_files_are_reported(folder: Path, problems: Problems) -> None:
    for name in ("broken.pdf", "image.png", "blank.pdf"):
        problems.clear()
        assert load(folder / name, problems) == {}
        assert problems.names == [name]
    assert "unsupported file type .png" in problems_for(folder / "image.png")


def problems_for(path: Path) -> str:
    problems = Problems()
    load(path, problems)
    return problems[0][1]


def test_encrypted_pdf_is_reported(tmp_path: Path, make_pdf: MakePdf, problems: Problems) -> None:
    (tmp_path / "plain.pdf").write_bytes(make_pdf(["Open text."]))
    writer = PdfWriter(clone_from=PdfReader(tmp_path / "plain.pdf"))
    writer.encrypt("secret", algorithm="RC4-128")
    with (tmp_path / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    docs = load(tmp_path, problems)
    assert list(docs) == ["file:plain.pdf"]
    assert problems == [(tmp_path / "locked.pdf", "encrypted PDF: it needs a password")]


def test_duplicate_jsonl_ids_are_reported(tmp_path: Path, problems: Problems) -> None:
    lines = [json.dumps({"id": "x", "text": f"Text {i}."}) for i in range(2)]
    (tmp_path / "dup.jsonl").write_text("\n".join(lines), encoding="utf-8")
    assert [d.text for d in load(tmp_path, problems).values()] == ["Text 0."]
    assert problems.names == ["dup.jsonl"]
    assert "duplicate" in problems[0][1]
