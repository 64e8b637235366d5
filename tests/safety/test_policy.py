"""The output policy: diagnosis, doses, links, images and HTML."""

from __future__ import annotations

from lumen.safety.policy import DOSE_NOTE, apply_output_policy, extract_doses

SOURCES = [
    "Adults: take 500 mg to 1,000 mg every 4 to 6 hours. Do not take more than 4 g in 24 "
    "hours. Children: 10 mg/kg. Take one tablet by mouth daily.",
]
URLS = ["https://medlineplus.gov/druginfo/meds/a681004.html", "https://www.cdc.gov/flu/"]


def policy(text: str) -> tuple[str, list[str]]:
    result = apply_output_policy(text, source_urls=URLS, source_texts=SOURCES)
    return result.text, result.actions


def test_diagnosis_is_rewritten() -> None:
    text, actions = policy("You have type 2 diabetes [1]. Regular exercise helps [2].")
    assert "You have type 2 diabetes" not in text
    assert "type 2 diabetes" in text
    assert "clinician" in text
    assert "[1]" in text
    assert "Regular exercise helps [2]." in text
    assert actions == ["diagnosis_rewritten"]


def test_suffering_from_and_lead_in_are_rewritten() -> None:
    text, actions = policy(
        "Based on your symptoms, you are suffering from a urinary tract infection."
    )
    assert "you are suffering" not in text.lower()
    assert "urinary tract infection" in text
    assert "doctor" in text
    assert "diagnosis_rewritten" in actions


def test_non_diagnostic_you_have_is_kept() -> None:
    for sentence in (
        "If you have diabetes, check your feet daily.",
        "You have several treatment options.",
        "You may have heard of statins.",
        "You have to take it with food.",
    ):
        text, actions = policy(sentence)
        assert text == sentence
        assert "diagnosis_rewritten" not in actions


def test_unsupported_dose_removed_supported_kept() -> None:
    text, actions = policy(
        "Take 500 mg every 6 hours [1]. Some people take 3,000 mg at once. Rest well."
    )
    assert "500 mg" in text
    assert "3,000 mg" not in text
    assert "Rest well." in text
    assert DOSE_NOTE in text
    assert "dose_removed" in actions


def test_dose_equivalents_and_ranges() -> None:
    text, _ = policy("Never exceed 4000 mg a day. The usual dose is 500-1000 mg.")
    assert "4000 mg" in text
    assert "500-1000 mg" in text
    text, actions = policy("Take two tablets at bedtime.")
    assert "two tablets" not in text
    assert "dose_removed" in actions
    text, actions = policy("Take one tablet daily.")
    assert text == "Take one tablet daily."
    assert actions == []


def test_lab_values_are_not_doses() -> None:
    text, actions = policy("A fasting glucose of 126 mg/dL or higher suggests diabetes.")
    assert "126 mg/dL" in text
    assert "dose_removed" not in actions


def test_extract_doses_units() -> None:
    assert ("mass", 4000.0) in extract_doses("no more than 4 g")
    assert ("mass", 0.05) in extract_doses("50 mcg of levothyroxine")
    assert ("iu", 1000.0) in extract_doses("1,000 IU of vitamin D")
    assert ("volume", 5.0) in extract_doses("5 mL twice daily")
    assert ("tablet", 2.0) in extract_doses("take two tablets")


def test_foreign_links_removed_source_links_kept() -> None:
    text, actions = policy(
        "See [MedlinePlus](https://medlineplus.gov/diabetes.html), "
        "[a shop](https://cheap-meds.example.com/buy) and https://evil.example.org/x or "
        "www.cdc.gov/flu/about."
    )
    assert "[MedlinePlus](https://medlineplus.gov/diabetes.html)" in text
    assert "a shop" in text
    assert "cheap-meds" not in text
    assert "evil.example.org" not in text
    assert "www.cdc.gov/flu/about" in text
    assert "link_removed" in actions


def test_images_html_and_javascript_removed() -> None:
    text, actions = policy(
        'Hello <img src=x onerror="alert(1)"> world <script>alert(document.cookie)</script>'
        " ![tracker](https://evil.example.com/p.png?q=secret) [click me](javascript:alert(1))"
        ' <b>bold</b> <a href="https://evil.example.com">there</a>'
    )
    for banned in ("<img", "onerror", "<script", "alert", "javascript:", "evil.example.com", "<b>"):
        assert banned not in text, banned
    assert "click me" in text
    assert "bold" in text
    assert "there" in text
    assert {"html_removed", "image_removed", "unsafe_link_removed"} <= set(actions)


def test_unclosed_tag_is_escaped() -> None:
    text, actions = policy("Before <img src=x onerror=alert(1) after")
    assert "<img" not in text
    assert "&lt;img" in text
    assert "html_escaped" in actions


def test_comparisons_survive() -> None:
    text, actions = policy("Aim for blood pressure < 130/80 and LDL < 100 mg/dL.")
    assert text == "Aim for blood pressure < 130/80 and LDL < 100 mg/dL."
    assert actions == []


def test_markdown_list_structure_kept() -> None:
    text, _ = policy("- Take 400 mg ibuprofen\n- Rest\n- Drink fluids")
    assert text.startswith("- Rest\n- Drink fluids")
