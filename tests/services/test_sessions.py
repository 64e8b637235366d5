from __future__ import annotations

import hashlib

import pytest

from lumen.clock import ManualClock
from lumen.components.kv import KVStore, KVUnavailable
from lumen.services.sessions import SessionInfo, SessionStore

IDLE = 900
ABSOLUTE = 3600


@pytest.fixture
def sessions(kv: KVStore, clock: ManualClock) -> SessionStore:
    return SessionStore(kv, clock, idle_timeout_s=IDLE, absolute_timeout_s=ABSOLUTE)


def _all_bytes(kv: KVStore) -> bytes:
    """Every key and every value in the store's namespace, as one blob."""
    parts: list[bytes] = []
    for key in kv.scan_prefix(""):
        parts.append(key.encode())
        try:
            value = kv.get(key)
        except (TypeError, KVUnavailable):
            value = None
        if value is None:
            parts.extend(m.encode() for m in kv.smembers(key))
        else:
            parts.append(value)
    return b"\n".join(parts)


def test_create_and_resolve(sessions: SessionStore, kv: KVStore, clock: ManualClock) -> None:
    token, info = sessions.create("u1", "patient", ip="203.0.113.0", user_agent="x" * 500)
    assert info.session_id == hashlib.sha256(token.encode()).hexdigest()
    assert info.user_agent == "x" * 200
    assert len(token) >= 43
    clock.advance(10)
    resolved = sessions.resolve(token)
    assert resolved is not None
    assert (resolved.user_id, resolved.role, resolved.ip) == ("u1", "patient", "203.0.113.0")
    assert resolved.created_at == info.created_at
    assert resolved.last_seen == info.created_at + 10
    ttl = kv.ttl(f"session:{info.session_id}")
    assert ttl is not None
    assert IDLE - 5 < ttl <= IDLE + 1
    assert kv.smembers("user_sessions:u1") == {info.session_id}
    assert sessions.resolve("not-a-token") is None
    assert sessions.resolve("") is None
    assert sessions.resolve("x" * 10_000) is None


def test_token_never_stored_in_clear(sessions: SessionStore, kv: KVStore) -> None:
    token, _ = sessions.create("u1", "patient")
    assert sessions.resolve(token) is not None
    ticket = sessions.create_mfa_ticket("u1", ttl_s=300)
    assert sessions.note_mfa_failure(ticket)
    blob = _all_bytes(kv)
    assert blob  # the scan did see the session
    assert token.encode() not in blob
    assert ticket.encode() not in blob


def test_idle_timeout(sessions: SessionStore, kv: KVStore, clock: ManualClock) -> None:
    token, info = sessions.create("u1", "patient")
    clock.advance(IDLE + 1)
    assert sessions.resolve(token) is None
    assert kv.get(f"session:{info.session_id}") is None
    assert sessions.list_for_user("u1") == []
    assert kv.smembers("user_sessions:u1") == set()


def test_touch_keeps_session_alive(sessions: SessionStore, clock: ManualClock) -> None:
    token, _ = sessions.create("u1", "patient")
    clock.advance(IDLE / 2 + 1)
    assert sessions.resolve(token) is not None
    clock.advance(IDLE / 2 + 1)
    assert sessions.resolve(token) is not None


def test_absolute_timeout(sessions: SessionStore, kv: KVStore, clock: ManualClock) -> None:
    token, info = sessions.create("u1", "patient")
    elapsed = 0.0
    while elapsed + IDLE / 2 <= ABSOLUTE:
        clock.advance(IDLE / 2)
        elapsed += IDLE / 2
        assert sessions.resolve(token) is not None
        ttl = kv.ttl(f"session:{info.session_id}")
        # The store's expiry never outlasts the absolute limit.
        assert ttl is not None
        assert ttl <= ABSOLUTE - elapsed + 2
    clock.advance(ABSOLUTE - elapsed + 1)
    assert sessions.resolve(token) is None
    assert kv.get(f"session:{info.session_id}") is None


def test_revoke(sessions: SessionStore, kv: KVStore) -> None:
    token, _info = sessions.create("u1", "patient")
    assert sessions.revoke(token) is True
    assert sessions.resolve(token) is None
    assert sessions.revoke(token) is False
    assert kv.smembers("user_sessions:u1") == set()


def test_revoke_all_and_list(sessions: SessionStore, clock: ManualClock) -> None:
    tokens = []
    for i in range(3):
        token, _ = sessions.create("u1", "patient", user_agent=f"agent {i}")
        tokens.append(token)
        clock.advance(1)
    other, _ = sessions.create("u2", "clinician")
    listed = sessions.list_for_user("u1")
    assert [s.user_agent for s in listed] == ["agent 2", "agent 1", "agent 0"]
    assert all(isinstance(s, SessionInfo) for s in listed)
    keep = sessions.resolve(tokens[0])
    assert keep is not None
    assert sessions.revoke_all("u1", except_session_id=keep.session_id) == 2
    assert sessions.resolve(tokens[1]) is None
    assert sessions.resolve(tokens[2]) is None
    assert sessions.resolve(tokens[0]) is not None
    assert sessions.resolve(other) is not None
    assert sessions.revoke_all("u1") == 1
    assert sessions.resolve(tokens[0]) is None
    assert sessions.list_for_user("u1") == []
    assert sessions.revoke_all("u1") == 0


def test_list_prunes_dead_sessions(sessions: SessionStore, kv: KVStore, clock: ManualClock) -> None:
    old, _ = sessions.create("u1", "patient")
    clock.advance(IDLE - 10)
    _new, new_info = sessions.create("u1", "patient")
    clock.advance(20)  # the first one is now idle-expired
    listed = sessions.list_for_user("u1")
    assert [s.session_id for s in listed] == [new_info.session_id]
    assert kv.smembers("user_sessions:u1") == {new_info.session_id}
    assert sessions.resolve(old) is None


def test_revoke_id_only_own_sessions(sessions: SessionStore) -> None:
    mine, mine_info = sessions.create("u1", "patient")
    theirs, theirs_info = sessions.create("u2", "patient")
    assert sessions.revoke_id("u1", theirs_info.session_id) is False
    assert sessions.resolve(theirs) is not None
    assert sessions.revoke_id("u1", "f" * 64) is False
    assert sessions.revoke_id("u1", mine_info.session_id) is True
    assert sessions.resolve(mine) is None
    assert sessions.revoke_id("u1", mine_info.session_id) is False


def test_touch_does_not_resurrect_revoked(sessions: SessionStore, kv: KVStore) -> None:
    token, info = sessions.create("u1", "patient")
    # A revocation that lands between the read and the write of a touch:
    real_get = kv.get

    def get_then_revoke(key: str) -> bytes | None:
        value = real_get(key)
        kv.delete(key)
        return value

    object.__setattr__(sessions, "_kv", _Proxy(kv, get=get_then_revoke))
    assert sessions.resolve(token) is None
    assert real_get(f"session:{info.session_id}") is None


class _Proxy:
    def __init__(self, inner: KVStore, **overrides: object) -> None:
        self._inner = inner
        self._overrides = overrides

    def __getattr__(self, name: str) -> object:
        return self._overrides.get(name) or getattr(self._inner, name)


def test_mfa_ticket_single_use(sessions: SessionStore) -> None:
    ticket = sessions.create_mfa_ticket("u1", ttl_s=300)
    assert sessions.peek_mfa_ticket(ticket) == "u1"
    assert sessions.peek_mfa_ticket(ticket) == "u1"
    assert sessions.consume_mfa_ticket(ticket) == "u1"
    assert sessions.consume_mfa_ticket(ticket) is None
    assert sessions.peek_mfa_ticket(ticket) is None
    assert sessions.consume_mfa_ticket("unknown") is None


def test_mfa_ticket_expires(sessions: SessionStore, clock: ManualClock) -> None:
    ticket = sessions.create_mfa_ticket("u1", ttl_s=300)
    clock.advance(301)
    assert sessions.peek_mfa_ticket(ticket) is None
    assert sessions.consume_mfa_ticket(ticket) is None
    assert sessions.note_mfa_failure(ticket) is False


def test_mfa_failure_limit(sessions: SessionStore, kv: KVStore) -> None:
    ticket = sessions.create_mfa_ticket("u1", ttl_s=300)
    for _ in range(3):
        assert sessions.note_mfa_failure(ticket, max_failures=3) is True
    assert sessions.peek_mfa_ticket(ticket) == "u1"
    assert sessions.note_mfa_failure(ticket, max_failures=3) is False
    assert sessions.peek_mfa_ticket(ticket) is None
    assert sessions.consume_mfa_ticket(ticket) is None
    assert kv.scan_prefix("mfa") == []
    assert sessions.note_mfa_failure("unknown") is False


def test_mfa_consume_clears_failures(sessions: SessionStore, kv: KVStore) -> None:
    ticket = sessions.create_mfa_ticket("u1", ttl_s=300)
    assert sessions.note_mfa_failure(ticket)
    assert sessions.consume_mfa_ticket(ticket) == "u1"
    assert kv.scan_prefix("mfa") == []


def test_dead_store_fails_closed(clock: ManualClock) -> None:
    pytest.importorskip("redis")
    from lumen.components.kv.redis_store import RedisKV

    dead = RedisKV("redis://127.0.0.1:1/0", prefix="lumentest:", timeout_s=0.2, clock=clock)
    store = SessionStore(dead, clock, idle_timeout_s=IDLE, absolute_timeout_s=ABSOLUTE)
    with pytest.raises(KVUnavailable):
        store.resolve("some-token-value")
    with pytest.raises(KVUnavailable):
        store.create("u1", "patient")
    dead.close()
