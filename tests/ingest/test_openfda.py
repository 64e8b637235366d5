"""The openFDA loader: reshaped labels and raw openFDA records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.openfda import html_tables_to_text

from .conftest import Problems

ABACAVIR_SET_ID = "01e46f58-8bda-4ff3-ab21-57d5b540d440"


def load(path: Path, problems: Problems) -> list:  # type: ignore[type-arg]
    return list(get_loader("drugs").load(path, collection="drugs", report=problems))


def test_reshaped_label(sources_dir: Path, problems: Problems) -> None:
    path = sources_dir / "drugs" / "openfda_labels" / "abacavir.json"
    (abacavir,) = load(path, problems)
    assert not problems
    assert abacavir.id == f"openfda:{ABACAVIR_SET_ID}"
    assert (
        abacavir.url == f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={ABACAVIR_SET_ID}"
    )
    assert abacavir.title == "Abacavir (abacavir)"
    assert abacavir.source == "openfda"
    assert abacavir.collection == "drugs"
    assert abacavir.metadata == {
        "drug_name": "Abacavir",
        "brand_names": ["Abacavir"],
        "generic_names": ["ABACAVIR"],
        "set_id": ABACAVIR_SET_ID,
        "product_type": "HUMAN PRESCRIPTION DRUG",
        "route": ["ORAL"],
    }
    titles = [s.title for s in abacavir.sections]
    assert titles[0] == "Abacavir - Boxed warning"
    assert "Abacavir - Drug interactions" in titles
    assert all(t.startswith("Abacavir - ") for t in titles)
    table = next(s for s in abacavir.sections if " table" in s.title)
    assert table.title.startswith("Abacavir - Dosage and administration table: Table 1.")
    assert "<" not in table.text.replace("<20", "").replace("<25", "")
    assert "Weight (kg) | Once-Daily Dosing Regimen | Twice-Daily Dosing Regimen" in table.text
    assert "14 to <20 | 1 tablet (300 mg) |" in table.text
    assert "Note: Data regarding the efficacy of once-daily dosing" in table.text
    warnings = next(s for s in abacavir.sections if s.title.endswith("Warnings and precautions"))
    assert not warnings.text.startswith("5 WARNINGS AND PRECAUTIONS")


def test_warfarin_interaction_tables_are_text(sources_dir: Path, problems: Problems) -> None:
    (warfarin,) = load(sources_dir / "drugs" / "openfda_labels" / "warfarin.json", problems)
    tables = [
        s for s in warfarin.sections if s.title.startswith("Warfarin - Drug interactions table")
    ]
    assert len(tables) == 2
    assert "CYP2C9 | amiodarone, capecitabine" in tables[0].text
    assert "warfarin" in warfarin.title.lower()


def test_raw_records(sources_dir: Path, problems: Problems) -> None:
    folder = sources_dir / "drugs" / "openfda_raw"
    raw = json.loads((folder / "warfarin.json").read_text(encoding="utf-8"))
    (warfarin,) = load(folder / "warfarin.json", problems)
    assert not problems
    assert warfarin.id == "openfda:warfarin"
    assert warfarin.url == "file:drugs/warfarin.json"
    assert warfarin.title == "Warfarin"
    present = [k for k, v in raw.items() if v]
    assert len(warfarin.sections) == len(present)
    assert [s.title for s in warfarin.sections] == [
        "Warfarin - Indications and usage",
        "Warfarin - Dosage and administration",
    ]
    assert warfarin.sections[0].text.startswith("Warfarin sodium tablets are indicated")
    docs = load(folder, problems)
    assert len(docs) == len(list(folder.glob("*.json"))) == 51
    assert all(d.sections for d in docs)
    assert not problems


def test_both_shapes_in_one_folder(sources_dir: Path, tmp_path: Path, problems: Problems) -> None:
    for shape in ("openfda_labels", "openfda_raw"):
        for name in ("warfarin.json", "atorvastatin.json"):
            shutil.copy(sources_dir / "drugs" / shape / name, tmp_path / f"{shape}-{name}")
    docs = load(tmp_path, problems)
    assert len(docs) == 4
    assert not problems
    assert sum(d.metadata["set_id"] != "" for d in docs) == 2
    assert sum(d.url.startswith("file:drugs/openfda_raw-") for d in docs) == 2
    names = sorted(d.metadata["drug_name"].lower() for d in docs)
    assert names == ["atorvastatin", "atorvastatin", "warfarin", "warfarin"]


def test_all_labels(sources_dir: Path, problems: Problems) -> None:
    docs = load(sources_dir / "drugs", problems)
    assert len(docs) == 873 + 51
    assert len({d.id for d in docs}) == len(docs)
    # Two labels of the set have empty sections only: reported, not fatal.
    assert sorted(problems.names) == ["deferoxamine.json", "ketotifen.json"]
    assert {m for _, m in problems} == {"no label sections with text"}
    # A combination product filed under each of its drugs keeps one id per file.
    kits = [d for d in docs if d.metadata["set_id"] == "01ca16de-ab2e-4e19-e063-6394a90a0510"]
    assert sorted(d.id for d in kits) == [
        "openfda:01ca16de-ab2e-4e19-e063-6394a90a0510",
        "openfda:01ca16de-ab2e-4e19-e063-6394a90a0510:methylprednisolone",
    ]


def test_bad_files_are_reported(tmp_path: Path, problems: Problems) -> None:
    (tmp_path / "bad.json").write_text('{"sections": ', encoding="utf-8")
    (tmp_path / "strings.json").write_text('["a", "b"]', encoding="utf-8")
    (tmp_path / "empty.json").write_text('{"warnings": null, "purpose": []}', encoding="utf-8")
    (tmp_path / "api.json").write_text(
        json.dumps(
            {
                "meta": {},
                "results": [
                    {
                        "set_id": "abc",
                        "openfda": {"brand_name": ["Brandex"], "generic_name": ["GENERICOL"]},
                        "purpose": ["Pain reliever"],
                        "warnings_table": ["<table><tr><td>a</td><td>b</td></tr></table>"],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    docs = load(tmp_path, problems)
    assert [(d.id, d.title) for d in docs] == [("openfda:abc", "Brandex (genericol)")]
    assert [(s.title, s.text) for s in docs[0].sections] == [
        ("Brandex - Purpose", "Pain reliever"),
        ("Brandex - Warnings table", "a | b"),
    ]
    assert sorted(problems.names) == ["bad.json", "empty.json", "strings.json"]


def test_html_tables_to_text() -> None:
    markup = (
        "<table><caption>Table 2: Doses</caption><tr><th>Age</th><th>Dose</th></tr>"
        "<tr><td><paragraph>Adults</paragraph><paragraph>(18+)</paragraph></td>"
        "<td>10 mg<footnote>Once daily.</footnote></td></tr></table>"
        "<table><tr><td colspan='2'>Second table</td></tr><tr><td>x</td><td>y</td></tr></table>"
    )
    assert html_tables_to_text(markup) == [
        ("Table 2: Doses", "Table 2: Doses\nAge | Dose\nAdults (18+) | 10 mg\nNote: Once daily."),
        ("Second table", "Second table\nx | y"),
    ]
