"""Ingestion: loaders, chunking and incremental writes to the index."""
