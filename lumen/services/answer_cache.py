"""A cache of answers to questions that carry nothing personal.

An answer is cached only when the question holds no personal data (the redactor finds none)
and no profile data shaped it. The key is a SHA-256 of the question and everything that
changes the answer, the index's generation included (a re-ingest starts afresh); the value is
encrypted, so neither the question nor the answer is stored in clear text. A KV outage degrades
to a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from typing import Any

from lumen.components.kv.base import KVStore, KVUnavailable
from lumen.safety.redact import Redactor
from lumen.security.crypto import DecryptionError, Keyring

logger = logging.getLogger(__name__)


class AnswerCache:
    """Answers keyed by a hash of question, collections and the pipeline's identity."""

    def __init__(self, kv: KVStore, keyring: Keyring, *, ttl_s: int, identity: str) -> None:
        self._kv = kv
        self._keyring = keyring
        self._ttl_s = ttl_s
        self._identity = identity
        self._redactor = Redactor()

    @property
    def enabled(self) -> bool:
        """False when the TTL is 0."""
        return self._ttl_s > 0

    def cacheable(self, question: str, *, used_profile: bool) -> bool:
        """Whether an answer to ``question`` may be shared: no profile, no personal data."""
        return self.enabled and not used_profile and not self._redactor.find(question)

    def key(self, question: str, collections: tuple[str, ...], *, generation: str = "") -> str:
        """The cache key: a hash, never the question.

        ``generation`` is the index's (:func:`lumen.ingest.pipeline.index_generation`): a
        re-ingest changes it, so answers from older sources are no longer found.
        """
        normalised = " ".join(unicodedata.normalize("NFKC", question).lower().split())
        payload = json.dumps([self._identity, sorted(collections), generation, normalised])
        return "answer:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer, or None (also when the store is down)."""
        try:
            raw = self._kv.get(key)
        except KVUnavailable:
            logger.warning("answer cache unavailable; answering without it")
            return None
        if raw is None:
            return None
        try:
            value = self._keyring.decrypt_json(raw.decode("ascii"), context="answer_cache")
        except (DecryptionError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, answer: dict[str, Any], *, user_id: str) -> None:
        """Store an answer and remember that ``user_id`` asked for it (for account deletion)."""
        token = self._keyring.encrypt_json(answer, context="answer_cache")
        try:
            self._kv.set(key, token.encode("ascii"), ttl_s=self._ttl_s)
            self.remember(key, user_id=user_id)
        except KVUnavailable:
            logger.warning("answer cache unavailable; answer not cached")

    def remember(self, key: str, *, user_id: str) -> None:
        """Note that ``user_id`` produced or read ``key``."""
        try:
            self._kv.sadd(f"cache_users:{user_id}", key)
            self._kv.expire(f"cache_users:{user_id}", self._ttl_s)
        except KVUnavailable:
            logger.warning("answer cache unavailable; cache link not kept")

    def forget_user(self, user_id: str) -> int:
        """Delete every cache entry the user's questions produced or read."""
        index = f"cache_users:{user_id}"
        keys: list[str] = sorted(self._kv.smembers(index))
        removed = self._kv.delete(*keys) if keys else 0
        self._kv.delete(index)
        return removed
