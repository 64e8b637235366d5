"""Server-side sessions behind opaque tokens, and the pending step of a TOTP sign-in.

Only the SHA-256 of a token is ever stored (``session:<sha256>``), so a copy of the store
does not let anyone sign in. Idle and absolute timeouts are checked against the injected
clock; the store's own expiry (``min(idle, absolute remaining)``) only cleans up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
from dataclasses import dataclass
from typing import Any

from lumen.clock import Clock
from lumen.components.kv.base import KVStore

logger = logging.getLogger(__name__)

_MAX_TOKEN_CHARS = 256
_MAX_USER_AGENT_CHARS = 200


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _plausible(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN_CHARS


def _ttl(seconds: float) -> int:
    # A second of slack, so that the store never drops a record the timeouts still allow.
    return max(1, math.ceil(seconds)) + 1


@dataclass(frozen=True)
class SessionInfo:
    """A live session as the server sees it; ``session_id`` is the token's hash."""

    session_id: str
    user_id: str
    role: str
    created_at: float
    last_seen: float
    ip: str | None = None
    user_agent: str | None = None

    def _record(self) -> bytes:
        data = {
            "user_id": self.user_id,
            "role": self.role,
            "created_at": self.created_at,
            "last_seen": self.last_seen,
            "ip": self.ip,
            "user_agent": self.user_agent,
        }
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    @classmethod
    def _parse(cls, session_id: str, raw: bytes) -> SessionInfo | None:
        try:
            data: Any = json.loads(raw)
            return cls(
                session_id=session_id,
                user_id=str(data["user_id"]),
                role=str(data["role"]),
                created_at=float(data["created_at"]),
                last_seen=float(data["last_seen"]),
                ip=data.get("ip"),
                user_agent=data.get("user_agent"),
            )
        except (ValueError, KeyError, TypeError):
            return None


class SessionStore:
    """Create, resolve, list and revoke sessions; issue and check pending-MFA tickets.

    Every method lets :class:`~lumen.components.kv.base.KVUnavailable` through, so callers
    fail closed when the store is down.
    """

    def __init__(
        self,
        kv: KVStore,
        clock: Clock,
        *,
        idle_timeout_s: int,
        absolute_timeout_s: int,
    ) -> None:
        if idle_timeout_s <= 0 or absolute_timeout_s <= 0:
            raise ValueError("session timeouts must be positive")
        self._kv = kv
        self._clock = clock
        self._idle_s = idle_timeout_s
        self._absolute_s = absolute_timeout_s

    # -- keys ------------------------------------------------------------------------------

    @staticmethod
    def _session_key(session_id: str) -> str:
        return f"session:{session_id}"

    @staticmethod
    def _user_key(user_id: str) -> str:
        return f"user_sessions:{user_id}"

    def _expired(self, info: SessionInfo, now: float) -> bool:
        return now - info.last_seen > self._idle_s or now - info.created_at > self._absolute_s

    def _remaining(self, info: SessionInfo, now: float) -> float:
        return min(self._idle_s, self._absolute_s - (now - info.created_at))

    def _drop(self, info: SessionInfo) -> bool:
        removed = self._kv.delete(self._session_key(info.session_id)) > 0
        self._kv.srem(self._user_key(info.user_id), info.session_id)
        return removed

    # -- sessions ----------------------------------------------------------------------------

    def create(
        self,
        user_id: str,
        role: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[str, SessionInfo]:
        """A new session; returns the token (give it to the client, keep it nowhere) and info."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        info = SessionInfo(
            session_id=_digest(token),
            user_id=user_id,
            role=role,
            created_at=now,
            last_seen=now,
            ip=ip,
            user_agent=user_agent[:_MAX_USER_AGENT_CHARS] if user_agent else None,
        )
        self._kv.set(
            self._session_key(info.session_id),
            info._record(),
            ttl_s=_ttl(min(self._idle_s, self._absolute_s)),
        )
        user_key = self._user_key(user_id)
        self._kv.sadd(user_key, info.session_id)
        # The index never needs to outlive the newest session it lists.
        self._kv.expire(user_key, self._absolute_s)
        logger.debug("session created for user %s", user_id)
        return token, info

    def get(self, session_id: str) -> SessionInfo | None:
        """The live session with this id, without touching it."""
        raw = self._kv.get(self._session_key(session_id))
        if raw is None:
            return None
        info = SessionInfo._parse(session_id, raw)
        if info is None or self._expired(info, self._clock.now()):
            return None
        return info

    def resolve(self, token: str) -> SessionInfo | None:
        """The session behind ``token``, touched; None when unknown or timed out."""
        if not _plausible(token):
            return None
        session_id = _digest(token)
        key = self._session_key(session_id)
        raw = self._kv.get(key)
        if raw is None:
            return None
        info = SessionInfo._parse(session_id, raw)
        if info is None:
            self._kv.delete(key)
            return None
        now = self._clock.now()
        if self._expired(info, now):
            self._drop(info)
            return None
        touched = SessionInfo(
            session_id=info.session_id,
            user_id=info.user_id,
            role=info.role,
            created_at=info.created_at,
            last_seen=max(info.last_seen, now),
            ip=info.ip,
            user_agent=info.user_agent,
        )
        # Overwrite only if still there, so a revocation racing this request is never undone.
        if not self._kv.replace(key, touched._record(), ttl_s=_ttl(self._remaining(info, now))):
            return None
        return touched

    def revoke(self, token: str) -> bool:
        """End the session behind ``token``; False when there was none."""
        if not _plausible(token):
            return False
        session_id = _digest(token)
        raw = self._kv.get(self._session_key(session_id))
        if raw is None:
            return False
        info = SessionInfo._parse(session_id, raw)
        if info is None:
            return self._kv.delete(self._session_key(session_id)) > 0
        return self._drop(info)

    def revoke_id(self, user_id: str, session_id: str) -> bool:
        """End one of ``user_id``'s sessions by id; False when it is not theirs or not live."""
        if session_id not in self._kv.smembers(self._user_key(user_id)):
            return False
        raw = self._kv.get(self._session_key(session_id))
        info = SessionInfo._parse(session_id, raw) if raw is not None else None
        if info is None or info.user_id != user_id:
            self._kv.srem(self._user_key(user_id), session_id)
            return False
        return self._drop(info)

    def revoke_all(self, user_id: str, *, except_session_id: str | None = None) -> int:
        """End every session of ``user_id`` (but one, if named); returns how many were live."""
        user_key = self._user_key(user_id)
        doomed = sorted(s for s in self._kv.smembers(user_key) if s != except_session_id)
        if not doomed:
            return 0
        count = self._kv.delete(*(self._session_key(s) for s in doomed))
        self._kv.srem(user_key, *doomed)
        logger.info("revoked %s session(s) of user %s", count, user_id)
        return count

    def list_for_user(self, user_id: str) -> list[SessionInfo]:
        """The user's live sessions, most recently used first; dead ids are pruned."""
        user_key = self._user_key(user_id)
        now = self._clock.now()
        live: list[SessionInfo] = []
        dead: list[str] = []
        for session_id in sorted(self._kv.smembers(user_key)):
            raw = self._kv.get(self._session_key(session_id))
            info = SessionInfo._parse(session_id, raw) if raw is not None else None
            if info is None or info.user_id != user_id:
                dead.append(session_id)
            elif self._expired(info, now):
                self._kv.delete(self._session_key(session_id))
                dead.append(session_id)
            else:
                live.append(info)
        if dead:
            self._kv.srem(user_key, *dead)
        live.sort(key=lambda s: (s.last_seen, s.created_at), reverse=True)
        return live

    # -- pending MFA -------------------------------------------------------------------------

    @staticmethod
    def _ticket_key(digest: str) -> str:
        return f"mfa:{digest}"

    @staticmethod
    def _failures_key(digest: str) -> str:
        return f"mfa_failures:{digest}"

    def create_mfa_ticket(self, user_id: str, *, ttl_s: int) -> str:
        """An opaque ticket that stands for "password checked, TOTP code pending"."""
        ticket = secrets.token_urlsafe(32)
        now = self._clock.now()
        record = json.dumps({"user_id": user_id, "expires_at": now + ttl_s}).encode("utf-8")
        self._kv.set(self._ticket_key(_digest(ticket)), record, ttl_s=ttl_s)
        return ticket

    def _ticket_user(self, digest: str) -> tuple[str, float] | None:
        raw = self._kv.get(self._ticket_key(digest))
        if raw is None:
            return None
        try:
            data: Any = json.loads(raw)
            user_id, expires_at = str(data["user_id"]), float(data["expires_at"])
        except (ValueError, KeyError, TypeError):
            self._forget_ticket(digest)
            return None
        remaining = expires_at - self._clock.now()
        if remaining <= 0:
            self._forget_ticket(digest)
            return None
        return user_id, remaining

    def _forget_ticket(self, digest: str) -> int:
        return self._kv.delete(self._ticket_key(digest), self._failures_key(digest))

    def peek_mfa_ticket(self, ticket: str) -> str | None:
        """The user id behind a live ticket, leaving it in place."""
        if not _plausible(ticket):
            return None
        found = self._ticket_user(_digest(ticket))
        return found[0] if found else None

    def consume_mfa_ticket(self, ticket: str) -> str | None:
        """The user id behind a live ticket, which ends here: only one caller ever gets it."""
        if not _plausible(ticket):
            return None
        digest = _digest(ticket)
        found = self._ticket_user(digest)
        if found is None:
            return None
        # Whoever deletes the key consumed it; a concurrent consumer sees 0 and gets None.
        if self._kv.delete(self._ticket_key(digest)) != 1:
            return None
        self._kv.delete(self._failures_key(digest))
        return found[0]

    def note_mfa_failure(self, ticket: str, max_failures: int = 5) -> bool:
        """Count a wrong code; False (ticket deleted) once failures exceed ``max_failures``.

        Up to ``max_failures`` wrong codes are tolerated; the next one ends the ticket.
        Also False when the ticket is unknown or expired.
        """
        if not _plausible(ticket):
            return False
        digest = _digest(ticket)
        found = self._ticket_user(digest)
        if found is None:
            return False
        failures, _ = self._kv.incr_window(self._failures_key(digest), _ttl(found[1]))
        if failures > max_failures:
            self._forget_ticket(digest)
            logger.info("pending sign-in of user %s ended after repeated wrong codes", found[0])
            return False
        return True
