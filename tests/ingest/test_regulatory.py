"""The regulatory Markdown loader: front matter, heading split, Markdown noise."""

from __future__ import annotations

from pathlib import Path

from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.markdown import markdown_to_text, split_front_matter

from .conftest import Problems

STATUTE = "fda/01-statute/fdc-act-title21-chap9-subchapV/section-351"
PART_801 = "fda/02-regulation/21cfr-subchapter-h/part-801"
SOLUPREP = (
    "complete_response_letters/"
    "3M_Health_Care_Infection_Prevention_Division-NDA_208288-SoluPrep-abm6fg"
)


def load(path: Path, problems: Problems) -> list:  # type: ignore[type-arg]
    return list(get_loader("regulatory").load(path, collection="regulatory", report=problems))


def test_statute_section(sources_dir: Path, problems: Problems) -> None:
    root = sources_dir / "regulatory"
    (section,) = load(root / f"{STATUTE}.md", problems)
    assert not problems
    assert section.id == f"regulatory:{STATUTE}"
    assert section.url == f"file:regulatory/{STATUTE}.md"
    assert section.title == "21 U.S.C. § 351 - Adulterated drugs and devices"
    assert section.source == "fda"
    assert section.collection == "regulatory"
    assert section.metadata["kind"] == "statute"
    assert section.metadata["chunk_id"] == "21 U.S.C. § 351"
    assert section.metadata["instrument"] == "FD&C Act"
    assert "converted" not in section.metadata
    assert "method" not in section.metadata
    titles = [s.title for s in section.sections]
    # The H1 repeats the title: it is not part of the section paths.
    assert titles[0] == ""
    assert (
        titles[1]
        == "(a) Poisonous, insanitary, etc., ingredients; adequate controls in manufacture"
    )
    assert section.sections[0].text == "A drug or device shall be deemed to be adulterated—"
    assert "chunk_title" not in section.text
    assert "---" not in section.text


def test_ids_do_not_depend_on_the_folder_given(sources_dir: Path, problems: Problems) -> None:
    root = sources_dir / "regulatory"
    statute_folder = root / STATUTE.rsplit("/", 1)[0]
    ids = {d.id for d in load(statute_folder, problems)}
    assert f"regulatory:{STATUTE}" in ids
    assert len(ids) == len(list(statute_folder.glob("*.md")))


def test_regulation_heading_paths(sources_dir: Path, problems: Problems) -> None:
    (part,) = load(sources_dir / "regulatory" / f"{PART_801}.md", problems)
    assert part.title == "21 CFR Part 801 - Labeling"
    assert part.metadata["kind"] == "regulation"
    assert part.metadata["sections"] == 39
    titles = [s.title for s in part.sections]
    assert titles[:2] == ["Authority:", "Source:"]
    assert titles[2] == (
        "Subpart A—General Labeling Provisions > § 801.1 Medical devices; name and place of "
        "business of manufacturer, packer or distributor."
    )
    assert not any(t.startswith("Source: >") or "PART 801" in t for t in titles)
    assert sum(t.startswith("Subpart B") for t in titles) >= 1


def test_guidance_front_matter(sources_dir: Path, problems: Problems) -> None:
    folder = sources_dir / "regulatory" / "fda" / "03-guidance"
    path = next(folder.glob("001_*.md"))
    (guidance,) = load(path, problems)
    assert guidance.title.startswith("Cybersecurity in Medical Devices: Quality Management System")
    assert guidance.metadata["docket"] == "FDA-2021-D-1158"
    assert guidance.metadata["kind"] == "guidance"
    assert guidance.source == "fda"
    # PDF line wrapping is undone.
    assert "For questions about this document regarding CDRH-regulated devices, contact" in (
        guidance.text
    )


def test_complete_response_letter(sources_dir: Path, problems: Problems) -> None:
    (letter,) = load(sources_dir / "regulatory" / f"{SOLUPREP}.md", problems)
    assert not problems
    assert letter.source == "crl"
    assert letter.id == f"regulatory:{SOLUPREP}"
    assert letter.title == (
        "Complete response letter: SoluPrep™ (208288Orig1s000), "
        "3M Health Care (Infection Prevention Division)"
    )
    assert letter.metadata["application_number"] == "208288Orig1s000"
    assert letter.metadata["kind"] == "complete_response_letter"
    assert "```" not in letter.text
    assert "application_number:" not in letter.text
    assert "**" not in letter.text
    titles = [s.title for s in letter.sections]
    assert "Critical Data" in titles
    assert any(t.endswith("COMPLETE RESPONSE – September 1, 2017 > NONCLINICAL") for t in titles)


def test_all_regulatory_files(sources_dir: Path, problems: Problems) -> None:
    docs = load(sources_dir / "regulatory", problems)
    assert not problems
    assert len(docs) == 646 + 256  # the CRL folder's SOURCE_README.md is not a letter
    assert len({d.id for d in docs}) == len(docs)
    assert sum(d.source == "crl" for d in docs) == 256
    assert all(d.title and d.sections for d in docs)
    # Letters whose front matter is not valid YAML still load, with their simple fields.
    acetaminophen = next(d for d in docs if "NDA_206968" in d.id)
    assert acetaminophen.title.startswith("COMPLETE RESPONSE LETTERS – NDA 206968")
    assert acetaminophen.metadata["applicant"] == "InnoPharma Licensing LLC"


def test_markdown_noise_is_stripped(tmp_path: Path, problems: Problems) -> None:
    (tmp_path / "doc.md").write_text(
        "```markdown\n---\ntitle: Device labels\ndocket: FDA-1\nsource_url: https://fda.gov/x\n"
        "effective: 2020-01-02\nnested: {a: 1}\n---\n"
        "Intro with ![chart](img.png) a [link text](https://example.org/a) and **bold**\n"
        "wrapped onto a *second* line.\n\n"
        "# Part 801\n## Subpart A\nText A <br> more `code`.\n\n"
        "| Field | Value |\n|---|:---:|\n| Dose | 5 mg |\n\n"
        "### § 801.1 Scope\n#### Deep heading\n- item one\n* item two\n---\n"
        "<!-- hidden -->\n[ref]: https://example.org/ref\n```\n",
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("# Not a document", encoding="utf-8")
    (document,) = load(tmp_path, problems)
    assert not problems
    assert document.title == "Device labels"
    assert document.url == "https://fda.gov/x"
    assert document.metadata == {
        "kind": "document",
        "title": "Device labels",
        "docket": "FDA-1",
        "source_url": "https://fda.gov/x",
        "effective": "2020-01-02",
    }
    assert [(s.title, s.text) for s in document.sections] == [
        ("", "Intro with a link text and bold wrapped onto a second line."),
        ("Part 801 > Subpart A", "Text A\nmore code.\n\nField | Value\nDose | 5 mg"),
        ("Part 801 > Subpart A > § 801.1 Scope", "Deep heading\n- item one\n- item two"),
    ]


def test_front_matter_helpers() -> None:
    parsed = split_front_matter("---\na: [unclosed\nb: two\n`---\nBody")
    assert parsed.body == "\nBody"
    assert parsed.problem.startswith("front matter is not valid YAML")
    assert parsed.data == {"a": "[unclosed", "b": "two"}  # read line by line
    assert split_front_matter("No front matter").data == {}
    assert markdown_to_text("a\\*b\\* and snake_case_name") == "a*b* and snake_case_name"


def test_bad_and_missing_files(tmp_path: Path, problems: Problems) -> None:
    (tmp_path / "empty.md").write_text("---\ntitle: Empty\n---\n\n", encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00 # T\n\ntext")
    docs = load(tmp_path, problems)
    assert [d.id for d in docs] == ["regulatory:binary"]
    assert problems == [(tmp_path / "empty.md", "no text")]
