"""The service's parts for one settings object, built once by ``lumen.factory.build_services``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lumen.clock import Clock
from lumen.components.kv.base import KVStore
from lumen.db.session import Database
from lumen.observability.metrics import Metrics
from lumen.security.crypto import Keyring
from lumen.security.passwords import PasswordHasher, PasswordPolicy
from lumen.services.audit import AuditLog
from lumen.services.model_queue import ModelQueue
from lumen.services.ratelimit import LoginThrottle, RateLimiter
from lumen.services.sessions import SessionStore
from lumen.settings import Settings

if TYPE_CHECKING:
    from lumen.components.storage.base import BlobStore
    from lumen.factory import Lumen
    from lumen.jobs.runner import JobRunner
    from lumen.services.answer_cache import AnswerCache


@dataclass
class Services:
    """Everything the routes' services need; one per running app."""

    settings: Settings
    clock: Clock
    database: Database
    keyring: Keyring
    kv: KVStore
    sessions: SessionStore
    limiter: RateLimiter
    throttle: LoginThrottle
    audit: AuditLog
    hasher: PasswordHasher
    policy: PasswordPolicy
    lumen: Lumen
    cache: AnswerCache
    metrics: Metrics
    model_queue: ModelQueue
    owns_lumen: bool = True
    jobs: JobRunner | None = None
    storage: BlobStore | None = None

    def close(self) -> None:
        """Release the jobs, the database, the KV store and (unless shared) the RAG parts."""
        if self.jobs is not None:
            self.jobs.close()
        if self.owns_lumen:
            self.lumen.close()
        self.kv.close()
        self.database.dispose()
