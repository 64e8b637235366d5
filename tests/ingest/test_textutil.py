from lumen.textutil import normalize_whitespace, split_sentences


def test_abbreviations_and_decimals_do_not_split() -> None:
    text = "Take 2.5 mg daily, e.g. with food. Dr. Smith et al. agree. Call the U.S. office now."
    assert split_sentences(text) == [
        "Take 2.5 mg daily, e.g. with food.",
        "Dr. Smith et al. agree.",
        "Call the U.S. office now.",
    ]


def test_line_breaks_and_bullets_are_boundaries() -> None:
    text = "Key points\n- Fever is common.\n- Rest helps\n1. Drink water"
    assert split_sentences(text) == ["Key points", "Fever is common.", "Rest helps", "Drink water"]


def test_inline_bullets_split() -> None:
    text = "Key Points - Leukemia affects blood cells. - Treatment varies."
    assert split_sentences(text) == [
        "Key Points",
        "Leukemia affects blood cells.",
        "Treatment varies.",
    ]


def test_questions_and_parentheses() -> None:
    assert split_sentences("Is it serious? Yes (usually). Ask (ALL) experts!") == [
        "Is it serious?",
        "Yes (usually).",
        "Ask (ALL) experts!",
    ]


def test_normalize_whitespace() -> None:
    assert normalize_whitespace("  a \t b\n\n\n c  ") == "a b\n\nc"
