"""Personal API keys: create (the secret is shown once), list, revoke, authenticate.

A key is ``lmn_`` followed by 256 random bits. Only its SHA-256 is stored (a random secret
needs no slow hash), with the first characters as a visible prefix so that people can tell
their keys apart. A key carries its owner's role when it was made: a role change revokes it,
and so does deleting the account (the rows go with it).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lumen.db.models import ApiKey, User, new_id
from lumen.errors import AuthenticationError, ConflictError, RateLimitedError
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.ownership import owned_or_not_found

logger = logging.getLogger(__name__)

KEY_PREFIX = "lmn_"
VISIBLE_CHARS = 12  # "lmn_" and 8 characters of the secret
MAX_KEYS_PER_USER = 20
MAX_EXPIRY_DAYS = 3650
_MAX_KEY_CHARS = 128
INVALID_KEY = "the API key is not valid, expired or revoked"


@dataclass(frozen=True)
class KeyGrant:
    """What an authenticated API key allows, as the request sees it."""

    key_id: str
    prefix: str
    store_conversations: bool


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is an API key (not a session token)."""
    return token.startswith(KEY_PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now(services: Services) -> datetime:
    return datetime.fromtimestamp(services.clock.now(), UTC)


def is_active(key: ApiKey, now: datetime) -> bool:
    """Not revoked and not expired."""
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def create_key(
    services: Services,
    db: Session,
    *,
    user: User,
    name: str,
    expires_in_days: int | None,
    store_conversations: bool,
    actor: Actor,
) -> tuple[ApiKey, str]:
    """A new key for ``user``; returns the row and the secret (shown once, kept nowhere)."""
    now = _now(services)
    live = [
        k for k in db.scalars(select(ApiKey).where(ApiKey.user_id == user.id)) if is_active(k, now)
    ]
    if len(live) >= MAX_KEYS_PER_USER:
        raise ConflictError(f"you already have {MAX_KEYS_PER_USER} active keys; revoke one first")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        user_id=user.id,
        name=name.strip()[:100] or "API key",
        prefix=secret[:VISIBLE_CHARS],
        secret_hash=_digest(secret),
        role=user.role,
        store_conversations=store_conversations,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(key)
    db.commit()
    services.audit.record(
        actor=actor, action="apikey.create", object_type="api_key", object_id=key.id
    )
    return key, secret


def list_keys(services: Services, db: Session, *, user: User, actor: Actor) -> list[ApiKey]:
    """The user's keys, newest first, revoked and expired ones included."""
    services.audit.record(actor=actor, action="apikey.list", object_type="api_key")
    return list(
        db.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        )
    )


def revoke_key(services: Services, db: Session, *, user: User, key_id: str, actor: Actor) -> ApiKey:
    """Revoke one of the user's keys (a key of someone else is "not found")."""
    key = owned_or_not_found(
        services,
        db,
        ApiKey,
        key_id,
        user=user,
        actor=actor,
        action="apikey.revoke",
        object_type="api_key",
        noun="API key",
    )
    if key.revoked_at is None:
        key.revoked_at = _now(services)
        db.commit()
    services.audit.record(
        actor=actor, action="apikey.revoke", object_type="api_key", object_id=key.id
    )
    return key


def revoke_all(services: Services, db: Session, *, user_id: str) -> int:
    """Revoke every live key of a user (a role change); the caller commits."""
    result = db.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=_now(services))
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info("revoked %s API key(s) of user %s", count, user_id)
    return count


def authenticate(
    services: Services, db: Session, *, token: str, ip: str | None
) -> tuple[User, KeyGrant]:
    """The owner of a live key, its use counted, audited and rate-limited; else 401 or 429."""
    if len(token) > _MAX_KEY_CHARS:
        raise AuthenticationError(INVALID_KEY)
    key = db.scalar(select(ApiKey).where(ApiKey.secret_hash == _digest(token)))
    now = _now(services)
    if key is None or not is_active(key, now):
        services.audit.record(
            actor=Actor(None, None, ip),
            action="apikey.use",
            outcome="failure",
            object_type="api_key",
            object_id=key.id if key is not None else None,
        )
        raise AuthenticationError(INVALID_KEY)
    user = db.get(User, key.user_id)
    if user is None or user.role != key.role:
        # Belt and braces: a role change revokes keys, but never trust a stale one.
        key.revoked_at = now
        db.commit()
        raise AuthenticationError(INVALID_KEY)
    api = services.settings.api
    decision = services.limiter.hit(f"apikey:{key.id}", api.rate_limit_per_ip, api.rate_window_s)
    if not decision.allowed:
        services.metrics.rate_limited("apikey")
        raise RateLimitedError("too many requests with this API key", decision.retry_after_s)
    key.last_used_at = now
    db.commit()
    services.audit.record(
        actor=Actor(user.id, user.role, ip),
        action="apikey.use",
        object_type="api_key",
        object_id=key.id,
    )
    return user, KeyGrant(key.id, key.prefix, key.store_conversations)
