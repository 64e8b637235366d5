"""Retrieval dev sets (consumer-style questions) and their evaluation."""
