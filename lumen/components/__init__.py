"""Swappable parts (embedding, vector store, LLM) chosen by settings and imported lazily."""
