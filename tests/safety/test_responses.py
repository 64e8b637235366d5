"""The fixed crisis, emergency and refusal responses."""

from __future__ import annotations

import re

import pytest

from lumen.safety.responses import (
    crisis_response,
    emergency_response,
    harmful_response,
    response_for,
)
from lumen.safety.triage import TriageCategory, TriageResult

METHOD_WORDS = re.compile(
    r"\b(?:hang\w*|rope|noose|gun|firearm|shoot\w*|jump\w*|bridge|knife|knives|razor|blade|"
    r"cut\w*|bleach|pills?|tablets?|lethal|fatal|dose|overdos\w*|drown\w*|suffocat\w*|"
    r"carbon monoxide|train|wrist\w*)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("subtype", [None, "suicide", "self_harm", "overdose", "harm_to_others"])
def test_crisis_response_has_988_and_no_methods(subtype: str | None) -> None:
    response = crisis_response(subtype)
    assert response.kind == "crisis"
    assert "988" in response.text
    assert any("988" in r["contact"] for r in response.resources)
    assert "911" in response.text
    assert not METHOD_WORDS.search(response.text), METHOD_WORDS.findall(response.text)
    assert all(set(r) == {"name", "contact"} for r in response.resources)


def test_overdose_crisis_adds_poison_control() -> None:
    response = crisis_response("overdose")
    assert "1-800-222-1222" in response.text
    assert any(r["contact"].endswith("1-800-222-1222") for r in response.resources)
    assert "1-800-222-1222" not in crisis_response("suicide").text


@pytest.mark.parametrize(
    "subtype",
    [
        "cardiac",
        "stroke",
        "anaphylaxis",
        "poisoning",
        "breathing",
        "bleeding",
        "unconscious",
        "seizure",
        "other",
        None,
        "unknown",
    ],
)
def test_emergency_response_has_911(subtype: str | None) -> None:
    response = emergency_response(subtype)
    assert response.kind == "emergency"
    assert "911" in response.text
    assert any("911" in r["contact"] for r in response.resources)


def test_poisoning_emergency_leads_with_poison_control() -> None:
    response = emergency_response("poisoning")
    assert "1-800-222-1222" in response.text
    assert response.resources[0]["name"] == "Poison Control"


@pytest.mark.parametrize(
    "category",
    [
        "dignity",
        "honesty",
        "law",
        "privacy",
        "research",
        "physician_freedom",
        "public_health",
        "patient_care",
        "access",
        "general",
        None,
    ],
)
def test_harmful_response_refuses_and_offers_alternative(category: str | None) -> None:
    response = harmful_response(category)
    assert response.kind == "refusal"
    assert response.text.startswith("I can't help with this request because")
    assert "instead" in response.text
    assert len(response.text) < 400


def test_response_for_dispatches() -> None:
    def result(category: TriageCategory, subtype: str | None) -> TriageResult:
        return TriageResult(category, subtype, 1.0, ())

    crisis = response_for(result(TriageCategory.CRISIS, "overdose"))
    assert crisis is not None
    assert "988" in crisis.text
    assert "1-800-222-1222" in crisis.text
    emergency = response_for(result(TriageCategory.EMERGENCY, "stroke"))
    assert emergency is not None
    assert emergency.kind == "emergency"
    refusal = response_for(result(TriageCategory.HARMFUL, "privacy"))
    assert refusal is not None
    assert refusal.kind == "refusal"
    assert response_for(result(TriageCategory.ORDINARY, None)) is None


def test_responses_are_deterministic() -> None:
    assert crisis_response("suicide") == crisis_response("suicide")
    assert emergency_response("cardiac") == emergency_response("cardiac")
