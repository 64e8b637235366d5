"""Sign-up, sign-in (with the TOTP step), sign-out, passwords and two-factor set-up."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response, status

from lumen.api.deps import (
    CSRF_COOKIE,
    ClientIp,
    CurrentCaller,
    ServicesDep,
    SessionDep,
    limit_signups,
)
from lumen.api.errors import documented
from lumen.api.schemas import (
    LoginRequest,
    LoginResponse,
    MfaRequest,
    PasswordChange,
    PasswordConfirm,
    RecoveryCodes,
    SessionsRevoked,
    TotpEnable,
    TotpSetup,
    UserCreate,
    UserPublic,
)
from lumen.api.views import user_public
from lumen.errors import FieldError, PermissionDeniedError
from lumen.services import accounts
from lumen.services.accounts import SignIn
from lumen.services.audit import Actor
from lumen.services.container import Services

router = APIRouter(prefix="/auth", tags=["auth"])


def set_session_cookies(response: Response, services: Services, token: str) -> None:
    """The session cookie (httpOnly) and the CSRF cookie the web app echoes in a header."""
    auth = services.settings.auth
    response.set_cookie(
        auth.cookie_name,
        token,
        max_age=auth.absolute_timeout_s,
        httponly=True,
        secure=auth.cookie_secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=auth.absolute_timeout_s,
        httponly=False,
        secure=auth.cookie_secure,
        samesite="strict",
        path="/",
    )


def clear_session_cookies(response: Response, services: Services) -> None:
    """Remove both cookies."""
    response.delete_cookie(services.settings.auth.cookie_name, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def _login_response(response: Response, services: Services, result: SignIn) -> LoginResponse:
    if result.mfa_ticket:
        return LoginResponse(mfa_required=True, ticket=result.mfa_ticket)
    if result.token is None:
        raise RuntimeError("sign-in gave neither a session nor an MFA ticket")
    set_session_cookies(response, services, result.token)
    return LoginResponse(
        mfa_required=False,
        token=result.token,
        user=user_public(result.user),
        expires_in=services.settings.auth.idle_timeout_s,
    )


@router.post("/signup", status_code=status.HTTP_201_CREATED, responses=documented(409))
def sign_up(body: UserCreate, services: ServicesDep, db: SessionDep, ip: ClientIp) -> UserPublic:
    """Create a patient account (sign in afterwards); a few attempts per address an hour."""
    if not services.settings.auth.allow_signup:
        raise PermissionDeniedError("sign-up is closed; ask an administrator for an account")
    limit_signups(services, ip)
    user = accounts.sign_up(
        services, db, email=body.email, password=body.password, actor=Actor(None, None, ip)
    )
    return user_public(user)


@router.post("/login")
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    services: ServicesDep,
    db: SessionDep,
    ip: ClientIp,
) -> LoginResponse:
    """Check e-mail and password; TOTP users get a ticket for ``/auth/login/mfa``."""
    result = accounts.sign_in(
        services,
        db,
        email=body.email,
        password=body.password,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    return _login_response(response, services, result)


@router.post("/login/mfa")
def login_mfa(
    body: MfaRequest,
    request: Request,
    response: Response,
    services: ServicesDep,
    db: SessionDep,
    ip: ClientIp,
) -> LoginResponse:
    """Finish signing in with a TOTP code or a recovery code."""
    if not body.code and not body.recovery_code:
        raise FieldError("code", "enter the code from your authenticator app or a recovery code")
    result = accounts.complete_mfa(
        services,
        db,
        ticket=body.ticket,
        code=body.code,
        recovery_code=body.recovery_code,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    return _login_response(response, services, result)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: CurrentCaller, services: ServicesDep, response: Response) -> None:
    """End this session."""
    accounts.sign_out(services, token=caller.token, actor=caller.actor)
    clear_session_cookies(response, services)


@router.post("/logout-all")
def logout_all(
    caller: CurrentCaller, services: ServicesDep, db: SessionDep, response: Response
) -> SessionsRevoked:
    """End every session of this account, this one included, and revoke its API keys."""
    ended = accounts.sign_out_everywhere(services, db, user=caller.user, actor=caller.actor)
    clear_session_cookies(response, services)
    return SessionsRevoked(revoked=ended.sessions, api_keys_revoked=ended.api_keys)


@router.post("/password")
def change_password(
    body: PasswordChange,
    caller: CurrentCaller,
    request: Request,
    response: Response,
    services: ServicesDep,
    db: SessionDep,
) -> LoginResponse:
    """Change the password; sessions end and API keys are revoked (this client signs in anew)."""
    user = db.merge(caller.user)
    result = accounts.change_password(
        services,
        db,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
        actor=caller.actor,
        user_agent=request.headers.get("user-agent"),
    )
    return _login_response(response, services, result)


@router.post("/totp/setup", responses=documented(409))
def totp_setup(caller: CurrentCaller, services: ServicesDep, db: SessionDep) -> TotpSetup:
    """A new secret to add to an authenticator app; confirm it with ``/auth/totp/enable``."""
    secret, uri = accounts.begin_totp(services, db, user=db.merge(caller.user), actor=caller.actor)
    return TotpSetup(secret=secret, otpauth_uri=uri)


@router.post("/totp/enable", responses=documented(409))
def totp_enable(
    body: TotpEnable, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> RecoveryCodes:
    """Turn two-factor authentication on (with the password); the recovery codes show only now."""
    codes = accounts.enable_totp(
        services,
        db,
        user=db.merge(caller.user),
        code=body.code,
        password=body.password,
        actor=caller.actor,
    )
    return RecoveryCodes(recovery_codes=codes)


@router.post("/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
def totp_disable(
    body: PasswordConfirm, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> None:
    """Turn two-factor authentication off (the password must be long enough alone)."""
    accounts.disable_totp(
        services, db, user=db.merge(caller.user), password=body.password, actor=caller.actor
    )


@router.post("/totp/recovery-codes", responses=documented(409))
def new_recovery_codes(
    body: PasswordConfirm, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> RecoveryCodes:
    """Replace the recovery codes."""
    codes = accounts.regenerate_recovery_codes(
        services, db, user=db.merge(caller.user), password=body.password, actor=caller.actor
    )
    return RecoveryCodes(recovery_codes=codes)
