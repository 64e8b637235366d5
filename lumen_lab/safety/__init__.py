"""Training and evaluation of the safety layer's triage classifier and redaction."""
