"""The question path: retrieve → prompt → generate → verify → respond."""
