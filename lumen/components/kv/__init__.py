"""A small key-value store (Redis or in-process) for sessions, rate limits and caches."""

from lumen.components.kv.base import KVStore, KVUnavailable
from lumen.components.kv.factory import open_kv
from lumen.components.kv.memory import MemoryKV

__all__ = ["KVStore", "KVUnavailable", "MemoryKV", "open_kv"]
