"""A question's subjects (lumen.rag.subjects): specialised words the sources must mention."""

from __future__ import annotations

import pytest

from lumen.rag.spelling import (
    SpellingCorrector,
    common_english_words,
    english_words,
    familiar_english_words,
)
from lumen.rag.subjects import mentioned_share, unmentioned

# Word -> documents using it, as `lumen ingest` records them.
VOCABULARY = {
    "metformin": 18,
    "acidosis": 40,
    "lactic": 30,
    "hellp": 5,
    "diagnosed": 900,
    "grandmas": 2,
    "zolpidemx": 1,
    "polyp": 12,
    "glaucoma": 60,
}


@pytest.fixture(scope="module")
def corrector() -> SpellingCorrector:
    return SpellingCorrector(
        VOCABULARY,
        english_words(),
        common_english=common_english_words(),
        familiar=familiar_english_words(),
    )


def test_subjects_are_indexed_words_everyday_english_lacks(corrector: SpellingCorrector) -> None:
    question = "My grandma was diagnosed with glaucoma, can metformin cause lactic acidosis?"
    # "glaucoma" and "lactic" are familiar enough in English; "diagnosed", "grandma" chatter.
    assert corrector.subjects(question) == ("metformin", "acidosis")
    assert corrector.correct(question).subjects == ("metformin", "acidosis")


def test_slips_and_misspellings_are_no_subjects(corrector: SpellingCorrector) -> None:
    # "hellp" is HELLP syndrome to the index but one edit from "help"; "zolpidem" is an edit
    # from a word the index knows; "metforrmin" is corrected first, then found.
    corrected = corrector.correct("hellp, what is zolpidem or metforrmin?")
    assert corrected.subjects == ("metformin",)
    assert corrector.subjects("hellp, what is zolpidem?") == ()
    assert SpellingCorrector(VOCABULARY, english_words()).subjects("metformin?") == ()


def test_a_name_nobody_here_knows_is_a_subject(corrector: SpellingCorrector) -> None:
    # Neither the index nor English has it, nor anything within two edits: a drug the index
    # has no page on, which no retrieved chunk can mention.
    assert corrector.subjects("What are the side effects of atomoxetine?") == ("atomoxetine",)


def test_subjects_are_found_in_the_corrected_question(corrector: SpellingCorrector) -> None:
    corrected = corrector.correct("can metformn cause acidosis")
    assert corrected.changes == (("metformn", "metformin"),)
    assert corrected.subjects == ("metformin", "acidosis")


def test_a_subject_is_mentioned_in_any_form_of_its_stem() -> None:
    texts = ["Colon polyps are common.", "Lactic acidosis can follow a stroke."]
    assert unmentioned(["polyp", "acidosis"], texts) == []
    assert unmentioned(["metformin", "acidosis"], texts) == ["metformin"]
    assert unmentioned([], texts) == []


def test_the_share_of_subjects_a_text_mentions() -> None:
    text = "Fibromyalgia causes widespread pain; polyps are another matter."
    assert mentioned_share(("fibromyalgia", "polyp"), text) == 1.0  # "polyps" shares the stem
    assert mentioned_share(("fibromyalgia", "letrozole"), text) == 0.5
    assert mentioned_share(("letrozole",), text) == 0.0
    assert mentioned_share((), text) == 1.0
