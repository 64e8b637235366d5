"""Accounts: sign-up, sign-in with optional TOTP, sessions, passwords and roles."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lumen.db.models import User
from lumen.documents import KNOWLEDGE, STANDARD_COLLECTIONS
from lumen.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from lumen.security.passwords import (
    PasswordPolicy,
    WeakPasswordError,
    check_password,
    normalize_password,
)
from lumen.security.totp import (
    generate_recovery_codes,
    hash_recovery_code,
    match_recovery_code,
    new_totp_secret,
    provisioning_uri,
    verify_totp,
)
from lumen.services import api_keys
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.sessions import SessionInfo

logger = logging.getLogger(__name__)

Role = Literal["patient", "pharma", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
KNOWLEDGE_ONLY = (KNOWLEDGE,)
ALL_COLLECTIONS = STANDARD_COLLECTIONS
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
BAD_CREDENTIALS = "wrong e-mail address or password"


def allowed_collections(role: str) -> tuple[str, ...]:
    """Collections a role may search: patients the consumer knowledge, others everything."""
    return ALL_COLLECTIONS if role in ("pharma", "admin") else KNOWLEDGE_ONLY


def own_collection(user: User) -> str | None:
    """A pharma user's organisation collection (never a standard one), else None."""
    organisation = user.organisation
    if user.role == "pharma" and organisation and organisation not in STANDARD_COLLECTIONS:
        return organisation
    return None


def check_search_access(
    user: User, collection: str, *, existing: Callable[[], Iterable[str]]
) -> None:
    """Whether ``user`` may search ``collection``.

    Patients search the consumer knowledge, pharma users and admins every standard collection;
    a pharma user also the collection named after their organisation (their uploads), an admin
    any collection that ``existing`` lists. Any other name reads as unknown, so another
    organisation's collection is not revealed.

    Raises:
        FieldError: an unknown collection, or one the user may not know of.
        PermissionDeniedError: a standard collection the role may not search.

    """
    if collection in STANDARD_COLLECTIONS:
        if collection not in allowed_collections(user.role):
            raise PermissionDeniedError(f"your role cannot search the '{collection}' collection")
        return
    if own_collection(user) == collection:
        return
    if user.role == "admin" and collection in set(existing()):
        return
    raise FieldError("collections", f"unknown collection: {collection}")


def utcnow(services: Services) -> datetime:
    """The service clock's time as an aware UTC datetime."""
    return datetime.fromtimestamp(services.clock.now(), UTC)


def normalise_email(email: str) -> str:
    """Lower-cased and stripped, or a field error."""
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise FieldError("email", "enter a valid e-mail address")
    return cleaned


@dataclass(frozen=True)
class SignIn:
    """The result of a password check: a session, or a ticket for the TOTP step."""

    user: User
    token: str | None = None
    session: SessionInfo | None = None
    mfa_ticket: str | None = None


def _check_password(
    field: str, password: str, policy: PasswordPolicy, *, email: str, mfa_enabled: bool
) -> None:
    """The password policy, reported against the request field."""
    local = email.split("@", 1)[0]
    try:
        check_password(password, policy, mfa_enabled=mfa_enabled, context_words=[local, "lumen"])
    except WeakPasswordError as exc:
        raise FieldError(field, str(exc)) from None


def sign_up(
    services: Services,
    db: Session,
    *,
    email: str,
    password: str,
    actor: Actor,
    role: Role = "patient",
) -> User:
    """Create an account after checking the password policy; the e-mail must be unused."""
    email = normalise_email(email)
    _check_password("password", password, services.policy, email=email, mfa_enabled=False)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("an account with this e-mail address already exists")
    now = utcnow(services)
    user = User(
        email=email,
        password_hash=services.hasher.hash(password),
        role=role,
        created_at=now,
        password_changed_at=now,
        recovery_code_hashes=[],
    )
    db.add(user)
    try:
        db.commit()
    except IntegrityError:  # the same address signed up concurrently
        db.rollback()
        raise ConflictError("an account with this e-mail address already exists") from None
    services.audit.record(
        actor=Actor(user.id, role, actor.ip),
        action="auth.signup",
        object_type="user",
        object_id=user.id,
    )
    return user


def sign_in(
    services: Services,
    db: Session,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None = None,
) -> SignIn:
    """Check the password, throttled per account and per address; TOTP users get a ticket."""
    account = email.strip().lower()
    decision = services.throttle.reserve(account, ip)  # before any password check
    if not decision.allowed:
        services.audit.record(actor=Actor(None, None, ip), action="auth.login", outcome="throttled")
        raise RateLimitedError("too many failed sign-ins; try again later", decision.retry_after_s)
    user = db.scalar(select(User).where(User.email == account))
    if user is None:
        services.hasher.dummy_verify(password)
        services.throttle.record_failure(account, ip)
        services.audit.record(actor=Actor(None, None, ip), action="auth.login", outcome="failure")
        raise AuthenticationError(BAD_CREDENTIALS)
    if not services.hasher.verify(user.password_hash, password):
        services.throttle.record_failure(account, ip)
        services.audit.record(
            actor=Actor(user.id, user.role, ip),
            action="auth.login",
            outcome="failure",
            object_type="user",
            object_id=user.id,
        )
        raise AuthenticationError(BAD_CREDENTIALS)
    if services.hasher.needs_rehash(user.password_hash):
        user.password_hash = services.hasher.hash(password)
    if user.totp_enabled:
        # The count clears only once the second factor checks out too (complete_mfa), so
        # wrong codes spread over several tickets still add up.
        db.commit()
        ticket = services.sessions.create_mfa_ticket(
            user.id, ttl_s=services.settings.auth.mfa_pending_s
        )
        services.audit.record(
            actor=Actor(user.id, user.role, ip),
            action="auth.login",
            outcome="mfa_required",
            object_type="user",
            object_id=user.id,
        )
        return SignIn(user=user, mfa_ticket=ticket)
    services.throttle.record_success(account, ip)
    return _start_session(services, db, user, ip=ip, user_agent=user_agent, action="auth.login")


def complete_mfa(
    services: Services,
    db: Session,
    *,
    ticket: str,
    code: str | None,
    recovery_code: str | None,
    ip: str | None,
    user_agent: str | None = None,
) -> SignIn:
    """Finish a sign-in with a TOTP code or a single-use recovery code.

    Wrong codes count as failed sign-ins of the account (and the address), so that the
    per-ticket limit cannot be sidestepped by asking for new tickets.
    """
    user_id = services.sessions.peek_mfa_ticket(ticket)
    user = db.get(User, user_id) if user_id else None
    if user is None or not user.totp_enabled or not user.totp_secret_enc:
        raise AuthenticationError("the sign-in step expired; sign in again")
    decision = services.throttle.reserve(user.email, ip)
    if not decision.allowed:
        services.audit.record(
            actor=Actor(user.id, user.role, ip),
            action="auth.login",
            outcome="throttled",
            object_type="user",
            object_id=user.id,
        )
        raise RateLimitedError("too many failed sign-ins; try again later", decision.retry_after_s)
    accepted = False
    method = "totp"
    if code:
        secret = services.keyring.decrypt(user.totp_secret_enc, context=_totp_context(user))
        step = verify_totp(
            secret, code, now=services.clock.now(), last_used_step=user.totp_last_step
        )
        if step is not None:
            user.totp_last_step = step
            accepted = True
    elif recovery_code:
        method = "recovery_code"
        index = match_recovery_code(recovery_code, user.recovery_code_hashes)
        if index is not None:
            remaining = list(user.recovery_code_hashes)
            remaining.pop(index)
            user.recovery_code_hashes = remaining
            accepted = True
    if not accepted:
        db.rollback()
        services.throttle.record_failure(user.email, ip)
        alive = services.sessions.note_mfa_failure(ticket)
        services.audit.record(
            actor=Actor(user.id, user.role, ip),
            action=f"auth.mfa.{method}",
            outcome="failure",
            object_type="user",
            object_id=user.id,
        )
        message = "wrong code" if alive else "too many wrong codes; sign in again"
        raise AuthenticationError(message)
    if services.sessions.consume_mfa_ticket(ticket) is None:
        raise AuthenticationError("the sign-in step expired; sign in again")
    services.throttle.record_success(user.email, ip)
    return _start_session(
        services, db, user, ip=ip, user_agent=user_agent, action=f"auth.mfa.{method}"
    )


def _start_session(
    services: Services,
    db: Session,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
    action: str,
) -> SignIn:
    token, info = services.sessions.create(user.id, user.role, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow(services)
    db.commit()
    services.audit.record(
        actor=Actor(user.id, user.role, ip), action=action, object_type="user", object_id=user.id
    )
    return SignIn(user=user, token=token, session=info)


def confirm_password(services: Services, *, user: User, password: str, actor: Actor) -> bool:
    """Re-check the password of a signed-in user, throttled like sign-in."""
    decision = services.throttle.reserve(user.email, actor.ip)
    if not decision.allowed:
        raise RateLimitedError("too many wrong passwords; try again later", decision.retry_after_s)
    if services.hasher.verify(user.password_hash, password):
        services.throttle.record_success(user.email, actor.ip)
        return True
    services.throttle.record_failure(user.email, actor.ip)
    return False


def sign_out(services: Services, *, token: str, actor: Actor) -> None:
    """End this session."""
    services.sessions.revoke(token)
    services.audit.record(
        actor=actor, action="auth.logout", object_type="user", object_id=actor.user_id
    )


@dataclass(frozen=True)
class SignedOut:
    """What signing out everywhere ended."""

    sessions: int
    api_keys: int


def sign_out_everywhere(services: Services, db: Session, *, user: User, actor: Actor) -> SignedOut:
    """End every session of the user and revoke their API keys.

    A key is as good as a session: one made from a stolen session would otherwise outlive the
    owner's "sign out everywhere".
    """
    keys = api_keys.revoke_all(services, db, user_id=user.id)
    db.commit()
    sessions = services.sessions.revoke_all(user.id)
    services.audit.record(
        actor=actor, action="auth.logout_all", object_type="user", object_id=user.id
    )
    return SignedOut(sessions=sessions, api_keys=keys)


def change_password(
    services: Services,
    db: Session,
    *,
    user: User,
    current_password: str,
    new_password: str,
    actor: Actor,
    user_agent: str | None = None,
) -> SignIn:
    """Replace the password; sessions end, API keys are revoked, the caller gets a new session."""
    if not confirm_password(services, user=user, password=current_password, actor=actor):
        services.audit.record(
            actor=actor,
            action="auth.password_change",
            outcome="failure",
            object_type="user",
            object_id=user.id,
        )
        raise FieldError("current_password", "the current password is wrong")
    _check_password(
        "new_password",
        new_password,
        services.policy,
        email=user.email,
        mfa_enabled=user.totp_enabled,
    )
    user.password_hash = services.hasher.hash(new_password)
    user.password_changed_at = utcnow(services)
    api_keys.revoke_all(services, db, user_id=user.id)
    db.commit()
    services.sessions.revoke_all(user.id)
    services.audit.record(
        actor=actor, action="auth.password_change", object_type="user", object_id=user.id
    )
    token, info = services.sessions.create(user.id, user.role, ip=actor.ip, user_agent=user_agent)
    return SignIn(user=user, token=token, session=info)


def _totp_context(user: User) -> str:
    return f"users.totp_secret:{user.id}"


def begin_totp(services: Services, db: Session, *, user: User, actor: Actor) -> tuple[str, str]:
    """Store a new (not yet active) TOTP secret; returns it and its otpauth:// URI."""
    if user.totp_enabled:
        # Replacing the live secret would swap the second factor without any check.
        raise ConflictError("two-factor authentication is already on; turn it off first")
    secret = new_totp_secret()
    user.totp_secret_enc = services.keyring.encrypt(secret, context=_totp_context(user))
    user.totp_last_step = None
    db.commit()
    services.audit.record(
        actor=actor, action="auth.totp.begin", object_type="user", object_id=user.id
    )
    uri = provisioning_uri(secret, user.email, services.settings.auth.totp_issuer)
    return secret, uri


def enable_totp(
    services: Services, db: Session, *, user: User, code: str, password: str, actor: Actor
) -> list[str]:
    """Turn TOTP on once the password and a code of the new secret check out; recovery codes."""
    if user.totp_enabled:
        raise ConflictError("two-factor authentication is already on")
    if not user.totp_secret_enc:
        raise ConflictError("start the two-factor set-up first")
    if not confirm_password(services, user=user, password=password, actor=actor):
        raise FieldError("password", "the password is wrong")
    secret = services.keyring.decrypt(user.totp_secret_enc, context=_totp_context(user))
    step = verify_totp(secret, code, now=services.clock.now(), last_used_step=None)
    if step is None:
        services.audit.record(
            actor=actor,
            action="auth.totp.enable",
            outcome="failure",
            object_type="user",
            object_id=user.id,
        )
        raise FieldError("code", "the code does not match; check the authenticator's clock")
    codes = generate_recovery_codes()
    user.totp_enabled = True
    user.totp_last_step = step
    user.recovery_code_hashes = [hash_recovery_code(c) for c in codes]
    db.commit()
    services.audit.record(
        actor=actor, action="auth.totp.enable", object_type="user", object_id=user.id
    )
    return codes


def disable_totp(
    services: Services, db: Session, *, user: User, password: str, actor: Actor
) -> None:
    """Turn TOTP off; the password must then be long enough to stand alone."""
    if not confirm_password(services, user=user, password=password, actor=actor):
        raise FieldError("password", "the password is wrong")
    if len(normalize_password(password)) < services.policy.min_length:
        raise FieldError(
            "password",
            f"a password used alone needs at least {services.policy.min_length} characters: "
            "change it before turning two-factor authentication off",
        )
    user.totp_enabled = False
    user.totp_secret_enc = None
    user.totp_last_step = None
    user.recovery_code_hashes = []
    db.commit()
    services.audit.record(
        actor=actor, action="auth.totp.disable", object_type="user", object_id=user.id
    )


def regenerate_recovery_codes(
    services: Services, db: Session, *, user: User, password: str, actor: Actor
) -> list[str]:
    """Replace all recovery codes (the old ones stop working)."""
    if not user.totp_enabled:
        raise ConflictError("two-factor authentication is off")
    if not confirm_password(services, user=user, password=password, actor=actor):
        raise FieldError("password", "the password is wrong")
    codes = generate_recovery_codes()
    user.recovery_code_hashes = [hash_recovery_code(c) for c in codes]
    db.commit()
    services.audit.record(
        actor=actor, action="auth.recovery_codes", object_type="user", object_id=user.id
    )
    return codes


def list_users(db: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    """Accounts, oldest first, with the total."""
    users = db.scalars(select(User).order_by(User.created_at, User.id).limit(limit).offset(offset))
    total = db.scalar(select(func.count()).select_from(User)) or 0
    return list(users), int(total)


def set_role(services: Services, db: Session, *, user_id: str, role: Role, actor: Actor) -> User:
    """Change a user's role (an admin action); their sessions end, API keys too if it changed."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError("no such user")
    if user.id == actor.user_id and role != "admin":
        raise ConflictError("admins cannot remove their own admin role")
    changed = user.role != role
    user.role = role
    if changed:
        api_keys.revoke_all(services, db, user_id=user.id)
    db.commit()
    services.sessions.revoke_all(user.id)
    services.audit.record(
        actor=actor, action="admin.set_role", object_type="user", object_id=user.id
    )
    return user


def create_user(services: Services, db: Session, *, email: str, password: str, role: Role) -> User:
    """Create an account from the CLI (the first admin, for instance)."""
    return sign_up(services, db, email=email, password=password, role=role, actor=Actor.system())
