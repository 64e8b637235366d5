"""Which source sentences an extractive answer may quote."""

from __future__ import annotations

import pytest

from lumen.rag.select import quotable, strip_fused_heading


@pytest.mark.parametrize(
    "sentence",
    [
        "What are the signs and symptoms of Glaucoma sleep apnea?",
        "How might aniridia be treated?",
        "Symptoms of Glaucoma",
        "How Glaucoma Develops",
        "The early signs and symptoms of ALL may include any of the following:",
        "(Watch the video to learn more about glaucoma.)",
        "If the information is available, the table below includes how often the symptom is seen.",
        "For more information about trials, visit the website of the National Eye Institute.",
        "For more specific results, refine the search by using other search features.",
        "Check the list of NCI-supported cancer clinical trials that are now accepting patients.",
        "General information about clinical trials is available from the NCI website.",
        "See the Treatment Options section that follows for links to current clinical trials.",
        "These have been retrieved from NCI's listing of clinical trials.",
        "people with a family history of glaucoma and diabetes.",
        "Glaucoma is common.",
    ],
)
def test_questions_headings_navigation_and_fragments_are_not_quotable(sentence: str) -> None:
    assert not quotable(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "At first, open-angle glaucoma has no symptoms.",
        "Without treatment, people with glaucoma will slowly lose their side vision.",
        'Doctors call this "tunnel vision" (a narrowed field of view).',
    ],
)
def test_statements_are_quotable(sentence: str) -> None:
    assert quotable(sentence)


def test_a_fused_heading_is_cut_off() -> None:
    fused = "Symptoms of Glaucoma Glaucoma can develop in one or both eyes."
    assert strip_fused_heading(fused) == "Glaucoma can develop in one or both eyes."
    plain = "Glaucoma can develop in one or both eyes."
    assert strip_fused_heading(plain) == plain
    # A repeated word later in an ordinary sentence is not a heading.
    ordinary = "People with Type 2 diabetes diabetes often need tablets."
    assert strip_fused_heading(ordinary) == ordinary
