"""The regex sentence splitter and the whitespace helpers."""

from __future__ import annotations

import time

import pytest

from lumen.textutil import (
    complete_sentences,
    is_yes_no_question,
    list_lead_ins,
    normalize_whitespace,
    sentence_spans,
    split_fused_heading,
    split_sentences,
    unwrap_lines,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Take it with food, e.g. bread, i.e. a snack. Dr. Smith et al. agree. Done.",
            ["Take it with food, e.g. bread, i.e. a snack.", "Dr. Smith et al. agree.", "Done."],
        ),
        (
            "Drug A vs. drug B. See Fig. 2 for details. The U.S. Food and Drug Administration "
            "approved it. Ask a Ph.D. Student.",
            [
                "Drug A vs. drug B.",
                "See Fig. 2 for details.",
                "The U.S. Food and Drug Administration approved it.",
                "Ask a Ph.D. Student.",
            ],
        ),
        (
            "Take 2.5 mg twice a day. Levels of 0.5 mmol/L are normal. Stop at 10 mg.",
            ["Take 2.5 mg twice a day.", "Levels of 0.5 mmol/L are normal.", "Stop at 10 mg."],
        ),
        (
            "Adult acute lymphoblastic leukemia (ALL) is a cancer. It affects adults (ALL). "
            "Treatment (for ALL; see below.) Varies.",
            [
                "Adult acute lymphoblastic leukemia (ALL) is a cancer.",
                "It affects adults (ALL).",
                "Treatment (for ALL; see below.)",
                "Varies.",
            ],
        ),
        (
            'Is it serious? Yes! It can be... Really. "Quoted." Next one.',
            ["Is it serious?", "Yes!", "It can be...", "Really.", '"Quoted."', "Next one."],
        ),
        (
            "Hepatitis B. It spreads by blood. Approx. 5 people. No. 3 is best. "
            "Pub. L. 115-52 too.",
            [
                "Hepatitis B.",
                "It spreads by blood.",
                "Approx. 5 people.",
                "No. 3 is best.",
                "Pub. L. 115-52 too.",
            ],
        ),
        (
            "T. solium is a tapeworm. E. coli lives in the gut.",
            ["T. solium is a tapeworm.", "E. coli lives in the gut."],
        ),
        ("", []),
        ("  \n\t \n", []),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_line_breaks_and_list_items_are_boundaries() -> None:
    text = (
        "Key points\n- Fever is common.\n* Rest helps\n1. Drink water. 2. Sleep.\n"
        "2) Second item\n\u2022 one \u2022 two\n\nLast line without a period"
    )
    assert split_sentences(text) == [
        "Key points",
        "Fever is common.",
        "Rest helps",
        "1. Drink water.",
        "2. Sleep.",
        "2) Second item",
        "one",
        "two",
        "Last line without a period",
    ]


def test_medquad_inline_bullets_split_but_dashes_do_not() -> None:
    text = (
        "Key Points    - ALL is a cancer (a type of white blood cell).    - It affects cells."
        "          -  Red blood cells. Parasites - Taeniasis is common."
    )
    assert split_sentences(text) == [
        "Key Points",
        "ALL is a cancer (a type of white blood cell).",
        "It affects cells.",
        "Red blood cells.",
        "Parasites - Taeniasis is common.",
    ]


def test_list_items_know_their_lead_in() -> None:
    text = (
        "Certain factors affect prognosis.\nThe prognosis depends on the following:\n"
        "- The stage of the cancer.\n- Whether the tumor can be removed.\nSurgery may help."
        "\n- A stray item.\nKey points:    - Inline item one.    - Inline item two."
        "\n1. Numbered item."
    )
    sentences = split_sentences(text)
    leads = list_lead_ins(text)
    pairs = zip(sentences, leads, strict=True)
    named = {sentence: None if lead is None else sentences[lead] for sentence, lead in pairs}
    following = "The prognosis depends on the following:"
    assert named == {
        "Certain factors affect prognosis.": None,
        following: None,
        "The stage of the cancer.": following,
        "Whether the tumor can be removed.": following,  # still the same list
        "Surgery may help.": None,
        "A stray item.": None,  # its list has no lead-in
        "Key points:": None,
        "Inline item one.": "Key points:",
        "Inline item two.": "Key points:",
        "1. Numbered item.": "Key points:",
    }
    assert list_lead_ins("Parasites - Taeniasis is common. It spreads.") == [None, None]


def test_spans_point_into_the_text() -> None:
    text = "  One sentence.  Two\tsentences here!\n- Three?\u00a0Four."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == split_sentences(text)
    assert split_sentences(text) == ["One sentence.", "Two\tsentences here!", "Three?", "Four."]


def test_unicode_text() -> None:
    text = "Sjögren’s syndrome — dry eyes; 5 µg/mL. Émile was told. 東京 is far."
    assert split_sentences(text) == [
        "Sjögren’s syndrome — dry eyes; 5 µg/mL.",
        "Émile was told.",
        "東京 is far.",
    ]


def test_normalize_whitespace() -> None:
    assert (
        normalize_whitespace("  a \t b\u00a0 c\u200b \r\n\r\n\r\n\n  d  \n e ") == "a b c\n\nd\ne"
    )
    assert normalize_whitespace("   ") == ""


def test_unwrap_lines_joins_hard_wrapped_paragraphs() -> None:
    text = (
        "Cybersecurity in Medical\nDevices guidance for\nindustry.\n"
        "Contents:\n- first item that\ncontinues\n- second item\n| a | b |\n| c | d |\n\n"
        "New paragraph"
    )
    assert unwrap_lines(text) == (
        "Cybersecurity in Medical Devices guidance for industry.\n"
        "Contents:\n- first item that continues\n- second item\n| a | b |\n| c | d |\n\n"
        "New paragraph"
    )


def test_splitting_is_fast() -> None:
    paragraph = (
        "Glaucoma is a group of diseases that damage the optic nerve, e.g. open-angle glaucoma. "
        "The U.S. rate is 2.5 per 100 adults (approx. 3 million people). Dr. Lee et al. agree!\n"
        "    - Eye drops lower pressure.    - Surgery may help.\n"
    )
    text = paragraph * 5000  # about 1.4 MB
    started = time.perf_counter()
    sentences = split_sentences(text)
    elapsed = time.perf_counter() - started
    assert len(sentences) == 5 * 5000
    assert elapsed < 5.0  # about 0.3 s on one core; generous for loaded CI machines


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Does aspirin reduce the risk of a second heart attack?", True),
        ("Is metformin safe in pregnancy?", True),
        ("  can children take ibuprofen ?", True),
        ("What are the symptoms of glaucoma?", False),
        ("How is glaucoma treated?", False),
        ("Is metformin safe in pregnancy", False),  # not asked as a question
        ("", False),
    ],
)
def test_yes_no_questions_are_told_by_their_first_word(question: str, expected: bool) -> None:
    assert is_yes_no_question(question) is expected


@pytest.mark.parametrize(
    ("draft", "kept"),
    [
        ("Glaucoma is treated with eye drops. Surgery may", "Glaucoma is treated with eye drops."),
        ("Drops lower eye pressure [1]. Laser surgery [2", "Drops lower eye pressure [1]."),
        ("Drops lower eye pressure. [1] Laser", "Drops lower eye pressure. [1]"),
        ("It rises (a lot). Then", "It rises (a lot)."),
        ("Is it treated? Yes, with drops!", "Is it treated? Yes, with drops!"),
        ("Surgery may", ""),
        ("", ""),
    ],
)
def test_complete_sentences_drop_a_cut_off_fragment(draft: str, kept: str) -> None:
    assert complete_sentences(draft) == kept


@pytest.mark.parametrize(
    ("sentence", "heading"),
    [
        ("Tests for Glaucoma Glaucoma is detected through an eye exam.", "Tests for Glaucoma"),
        (
            "Bone Density Tests The test used to diagnose osteoporosis is a bone density test.",
            "Bone Density Tests",
        ),
        (
            "Follow Your Treatments Follow your treatments for COPD exactly as prescribed.",
            "Follow Your Treatments",
        ),
        (
            "Memory Problems -- A Common Early Sign Memory problems are one of the first signs.",
            "Memory Problems -- A Common Early Sign",
        ),
        # no seam: a label with a colon belongs to its sentence, proper names run on
        ("Stage III: The tumor has spread through the tissue that lines the abdomen.", ""),
        ("The National Institute of Neurological Disorders and Stroke conducts research.", ""),
        ("Bone Density Tests are used to diagnose osteoporosis.", ""),
        ("Glaucoma Glaucoma is a group of diseases.", ""),
        ("Most people with glaucoma have no early symptoms.", ""),
    ],
)
def test_fused_headings_are_split_off(sentence: str, heading: str) -> None:
    found, rest = split_fused_heading(sentence)
    assert found == heading
    assert (found + " " + rest).strip() == sentence if found else rest == sentence
