"""Vector stores: Qdrant's engine in-process (edge) or a Qdrant server (qdrant-client)."""
