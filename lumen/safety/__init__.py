"""Lumen's safety layer: input triage, fixed responses, output policy, redaction, injection.

Submodules load lazily; import what you need from them or from here::

    from lumen.safety import Triage, check_input, apply_output_policy, Redactor
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Triage": "lumen.safety.triage",
    "TriageCategory": "lumen.safety.triage",
    "TriageResult": "lumen.safety.triage",
    "check_input": "lumen.safety.triage",
    "SafetyResponse": "lumen.safety.responses",
    "crisis_response": "lumen.safety.responses",
    "emergency_response": "lumen.safety.responses",
    "harmful_response": "lumen.safety.responses",
    "response_for": "lumen.safety.responses",
    "PolicyResult": "lumen.safety.policy",
    "apply_output_policy": "lumen.safety.policy",
    "Redactor": "lumen.safety.redact",
    "RedactingFilter": "lumen.safety.redact",
    "add_redacting_filter": "lumen.safety.redact",
    "SAFETY_SYSTEM_PROMPT": "lumen.safety.injection",
    "answer_follows_injection": "lumen.safety.injection",
    "fence_source": "lumen.safety.injection",
    "injection_score": "lumen.safety.injection",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lumen.safety' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
