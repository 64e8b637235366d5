"""Dependencies: the services, a database session, the caller and their role."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from lumen.api.schemas import ID_PATTERN
from lumen.db.models import User
from lumen.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from lumen.services import api_keys
from lumen.services.api_keys import KeyGrant
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.sessions import SessionInfo

IdPath = Annotated[str, Path(pattern=ID_PATTERN, description="An object id.")]
"""An id in a path; anything else (a NUL, a slash, 65 characters) is a 422."""

CSRF_COOKIE = "lumen_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_db(services: ServicesDep) -> Iterator[Session]:
    """A database session for this request."""
    session = services.database.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


def client_ip(request: Request, services: Services) -> str | None:
    """The caller's address (the first X-Forwarded-For hop when configured to trust it)."""
    if services.settings.api.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",", 1)[0].strip()[:64]
    return request.client.host if request.client else None


def get_ip(request: Request, services: ServicesDep) -> str | None:
    """The caller's address."""
    return client_ip(request, services)


ClientIp = Annotated[str | None, Depends(get_ip)]


def limit_by_ip(request: Request, services: ServicesDep, ip: ClientIp) -> None:
    """The per-address rate limit on every API route."""
    if ip is None:
        return
    api = services.settings.api
    from lumen.components.kv.base import KVUnavailable

    try:
        decision = services.limiter.hit(f"ip:{ip}", api.rate_limit_per_ip, api.rate_window_s)
    except KVUnavailable:
        return  # routes that need sessions fail closed on their own
    if not decision.allowed:
        services.metrics.rate_limited("ip")
        raise RateLimitedError("too many requests from your address", decision.retry_after_s)


def limit_signups(services: ServicesDep, ip: ClientIp) -> None:
    """Sign-up attempts per address: each one tells whether an e-mail has an account."""
    if ip is None:
        return
    auth = services.settings.auth
    decision = services.limiter.hit(f"signup:{ip}", auth.signups_per_ip, auth.signup_window_s)
    if not decision.allowed:  # an unreachable store raises KVUnavailable: 503, not unthrottled
        services.metrics.rate_limited("signup")
        message = "too many sign-up attempts from your address"
        raise RateLimitedError(message, decision.retry_after_s)


@dataclass(frozen=True)
class Caller:
    """The signed-in user, their session (or API key) and how they authenticated."""

    user: User
    session: SessionInfo
    token: str
    via_cookie: bool
    ip: str | None
    api_key: KeyGrant | None = None

    @property
    def actor(self) -> Actor:
        """The caller as the audit log names them."""
        return Actor(self.user.id, self.user.role, self.ip)


def session_token(request: Request, services: Services) -> tuple[str | None, bool]:
    """The bearer token, else the session cookie; and whether it came from the cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    cookie = request.cookies.get(services.settings.auth.cookie_name)
    return (cookie or None), True


def get_caller(request: Request, services: ServicesDep, db: SessionDep, ip: ClientIp) -> Caller:
    """The signed-in caller, or 401; a session store outage is a 503, never a bypass."""
    token, via_cookie = session_token(request, services)
    if not token:
        raise AuthenticationError("sign in first")
    if not via_cookie and api_keys.looks_like_key(token):
        return _key_caller(services, db, token, ip)
    info = services.sessions.resolve(token)  # KVUnavailable propagates: 503
    if info is None:
        raise AuthenticationError("your session has ended; sign in again")
    user = db.get(User, info.user_id)
    if user is None:
        services.sessions.revoke(token)
        raise AuthenticationError("your session has ended; sign in again")
    if via_cookie and request.method not in SAFE_METHODS:
        check_csrf(request)
    return Caller(user=user, session=info, token=token, via_cookie=via_cookie, ip=ip)


def _key_caller(services: Services, db: Session, token: str, ip: str | None) -> Caller:
    """A caller behind a personal API key (bearer only: keys never travel in cookies)."""
    user, grant = api_keys.authenticate(services, db, token=token, ip=ip)
    now = services.clock.now()
    # Keys have no server-side session; this stands in for one (it is never stored).
    info = SessionInfo(f"apikey:{grant.key_id}", user.id, user.role, now, now, ip)
    return Caller(user=user, session=info, token=token, via_cookie=False, ip=ip, api_key=grant)


def check_csrf(request: Request) -> None:
    """Double-submit check: the CSRF header must equal the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie, header):
        raise PermissionDeniedError("missing or wrong CSRF token; reload the page")


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def get_admin(caller: CurrentCaller) -> Caller:
    """The caller, who must be an admin."""
    if caller.user.role != "admin":
        raise PermissionDeniedError("this needs the admin role")
    return caller


AdminCaller = Annotated[Caller, Depends(get_admin)]


def get_session_caller(caller: CurrentCaller) -> Caller:
    """The caller, signed in with a session: an API key cannot manage API keys."""
    if caller.api_key is not None:
        raise PermissionDeniedError("API keys cannot manage API keys; sign in to do this")
    return caller


SessionCaller = Annotated[Caller, Depends(get_session_caller)]
