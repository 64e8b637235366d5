"""Deterministic responses for crisis, emergency and harmful questions: never generated.

Crisis wording follows safe-messaging guidance: it acknowledges the person, says help is
available now, names how to reach it, and describes no method or means. US resources:
the 988 Suicide & Crisis Lifeline (call or text 988), 911 for immediate danger and Poison
Control (1-800-222-1222) where poisoning or an overdose is involved. Harmful requests get
a short refusal that says why and what Lumen can do instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lumen.safety.triage import TriageResult

__all__ = [
    "EMERGENCY_911",
    "LIFELINE_988",
    "POISON_CONTROL",
    "SafetyResponse",
    "crisis_response",
    "emergency_response",
    "harmful_response",
    "response_for",
]

LIFELINE_988 = {"name": "988 Suicide & Crisis Lifeline", "contact": "Call or text 988"}
EMERGENCY_911 = {"name": "Emergency services", "contact": "Call 911"}
POISON_CONTROL = {"name": "Poison Control", "contact": "Call 1-800-222-1222"}
CRISIS_TEXT_LINE = {"name": "Crisis Text Line", "contact": "Text HOME to 741741"}

_OUTSIDE_US = (
    "If you are outside the United States, call your local emergency number or a local crisis line."
)


@dataclass(frozen=True)
class SafetyResponse:
    """A fixed answer, never generated.

    ``kind`` is crisis, emergency or refusal; ``resources`` name whom to contact (each a
    dict with ``name`` and ``contact``); ``subtype`` says which variant was chosen.
    """

    kind: str
    text: str
    resources: list[dict[str, str]] = field(default_factory=list)
    subtype: str | None = None


def crisis_response(subtype: str | None = None) -> SafetyResponse:
    """Supportive words and crisis lines for suicide, self-harm, overdose or harm to others."""
    resources = [dict(LIFELINE_988), dict(EMERGENCY_911)]
    if subtype == "harm_to_others":
        text = (
            "It sounds like you are going through something really hard right now, and it "
            "took courage to say it. You do not have to handle these thoughts or this "
            "situation alone.\n\n"
            "If anyone is in immediate danger, including you, call 911 now.\n\n"
            "You can call or text 988 (the 988 Suicide & Crisis Lifeline) at any time, day or "
            "night, to talk with a trained counselor about what you are feeling. They can help "
            "you stay safe and work out what to do next.\n\n"
            "If you can, move away from the situation and reach out to someone you trust "
            "while you get support. " + _OUTSIDE_US
        )
    else:
        text = (
            "I'm really sorry you are feeling this way. You matter, and you do not have to go "
            "through this alone. Help is available right now.\n\n"
            "Please call or text 988 to reach the 988 Suicide & Crisis Lifeline. It is free, "
            "confidential and open 24 hours a day, and a trained counselor will listen.\n\n"
            "If you are in immediate danger, call 911 now."
        )
        if subtype == "overdose":
            resources.append(dict(POISON_CONTROL))
            text += (
                " If you have taken too much of a medicine or any other substance, call 911 or "
                "Poison Control at 1-800-222-1222 right away, even if you feel fine."
            )
        text += (
            "\n\nIf you can, reach out to someone you trust and let them know how you are "
            "feeling, or ask them to stay with you. Feelings this heavy can change, and "
            "support can help. " + _OUTSIDE_US
        )
        resources.append(dict(CRISIS_TEXT_LINE))
    return SafetyResponse("crisis", text, resources, subtype)


_EMERGENCY_ADVICE: dict[str, str] = {
    "cardiac": (
        "Chest pain with shortness of breath, sweating, or pain spreading to the arm, jaw or "
        "back can be a heart attack. Call 911 now. Do not drive yourself. Stop what you are "
        "doing, sit or lie down, and unlock the door. The 911 dispatcher can tell you what to "
        "do while you wait."
    ),
    "stroke": (
        "Sudden face drooping, arm or leg weakness, trouble speaking, confusion, loss of "
        "vision or a sudden severe headache can be a stroke. Call 911 now: treatment works "
        "best in the first hours. Note the time the symptoms started. Do not drive yourself "
        "or the person to hospital, and do not give food, drink or medicine."
    ),
    "anaphylaxis": (
        "Swelling of the throat, tongue or lips, trouble breathing or fainting after an "
        "allergen can be anaphylaxis. If an epinephrine auto-injector has been prescribed, use "
        "it now, then call 911 even if symptoms improve. Lie down with your legs raised unless "
        "breathing is easier sitting up."
    ),
    "poisoning": (
        "For a possible poisoning, call Poison Control at 1-800-222-1222 now (free, "
        "confidential, 24 hours a day). If the person is unconscious, having a seizure, "
        "having trouble breathing or cannot be woken, call 911 instead. Do not make the person "
        "vomit unless you are told to. Keep the container or package to tell them what was "
        "taken."
    ),
    "breathing": (
        "Severe trouble breathing, blue or grey lips, choking, or being unable to speak in "
        "full sentences is an emergency. Call 911 now. Sit upright, and if a rescue inhaler "
        "has been prescribed, use it as instructed while you wait."
    ),
    "bleeding": (
        "Heavy bleeding that does not stop, vomiting or coughing up blood, or a serious "
        "injury needs emergency care. Call 911 now. Press firmly on a bleeding wound with a "
        "clean cloth and keep pressing until help arrives."
    ),
    "unconscious": (
        "A person who has collapsed, cannot be woken or is not breathing normally needs help "
        "right away. Call 911 now. The dispatcher can guide you through CPR if needed. Stay "
        "with the person until help arrives."
    ),
    "seizure": (
        "A seizure lasting more than 5 minutes, repeated seizures, a first seizure, or one "
        "followed by trouble breathing or injury is an emergency. Call 911 now. Move hard "
        "objects away, cushion the head, turn the person on their side, and do not put "
        "anything in their mouth."
    ),
    "other": (
        "What you describe can be a medical emergency. Call 911 now, or go to the nearest "
        "emergency department if you can get there safely without driving yourself."
    ),
}


def emergency_response(subtype: str | None = None) -> SafetyResponse:
    """Call-911 guidance for a medical emergency; Poison Control for poisoning."""
    key = subtype if subtype in _EMERGENCY_ADVICE else "other"
    resources = [dict(EMERGENCY_911)]
    if key == "poisoning":
        resources = [dict(POISON_CONTROL), dict(EMERGENCY_911)]
    text = (
        "This may be a medical emergency, so I won't answer it with general information.\n\n"
        + _EMERGENCY_ADVICE[key]
        + "\n\nIf you are outside the United States, call your local emergency number."
    )
    return SafetyResponse("emergency", text, resources, key)


_REFUSALS: dict[str, tuple[str, str]] = {
    "dignity": (
        "it would mean treating a patient without compassion or respect for their dignity",
        "how to communicate with patients respectfully, or how to support a patient who is "
        "struggling",
    ),
    "honesty": (
        "it involves deception, falsified records or dishonest professional conduct",
        "how to document care accurately, report an error, or raise a concern honestly",
    ),
    "law": (
        "it involves breaking the law or bypassing the rules that keep patients safe, such "
        "as getting prescription drugs without a prescription",
        "how the relevant rules work, or how to get the treatment you need through a "
        "clinician or pharmacist",
    ),
    "privacy": (
        "it would expose someone's private health or personal information without their consent",
        "how patients can access their own records, or how health privacy rules protect people",
    ),
    "research": (
        "it would compromise the honesty or ethics of medical research",
        "how clinical studies are designed, approved and reported ethically",
    ),
    "physician_freedom": (
        "it would pressure clinicians to act against their professional judgement",
        "how clinicians and organisations can resolve disagreements about care",
    ),
    "public_health": (
        "it could harm public health, for example by spreading health misinformation",
        "what the evidence says on the topic, from Lumen's sources",
    ),
    "patient_care": (
        "it would put a patient's health at risk by withholding or undermining proper care",
        "what proper care looks like, or questions to ask the treating clinician",
    ),
    "access": (
        "it would deny people medical care unfairly",
        "how patients can find affordable care, or how clinics widen access",
    ),
    "general": (
        "it asks for help with something that could hurt people or is illegal",
        "general health information, or where to find support",
    ),
}


def harmful_response(subtype: str | None = None) -> SafetyResponse:
    """A brief refusal that explains why and offers what Lumen can do instead."""
    key = subtype if subtype in _REFUSALS else "general"
    reason, instead = _REFUSALS[key]
    text = f"I can't help with this request because {reason}. I can help with {instead} instead."
    resources: list[dict[str, str]] = []
    if key == "general":
        text += " If someone is in danger, call 911."
        resources = [dict(EMERGENCY_911)]
    return SafetyResponse("refusal", text, resources, key)


def response_for(result: TriageResult) -> SafetyResponse | None:
    """The fixed response for a triage result, or None for an ordinary question."""
    category = str(result.category)
    if category == "crisis":
        return crisis_response(result.subtype)
    if category == "emergency":
        return emergency_response(result.subtype)
    if category == "harmful":
        return harmful_response(result.subtype)
    return None
