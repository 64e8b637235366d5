"""Dense embedding models (all-MiniLM-L6-v2) and the BM25 sparse encoder."""
