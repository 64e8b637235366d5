"""The signed-in user's own account: details, sessions, data export and deletion."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from lumen.api.deps import CurrentCaller, IdPath, ServicesDep, SessionDep
from lumen.api.routes.auth import clear_session_cookies
from lumen.api.schemas import PasswordConfirm, SessionPublic, UserPublic
from lumen.api.views import session_public, user_public
from lumen.errors import FieldError, NotFoundError
from lumen.services import accounts, data_rights

router = APIRouter(prefix="/me", tags=["account"])


@router.get("")
def me(caller: CurrentCaller) -> UserPublic:
    """The signed-in account."""
    return user_public(caller.user)


@router.get("/sessions")
def sessions(caller: CurrentCaller, services: ServicesDep) -> list[SessionPublic]:
    """The account's live sessions."""
    infos = services.sessions.list_for_user(caller.user.id)
    return [session_public(i, current_id=caller.session.session_id) for i in infos]


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_session(session_id: IdPath, caller: CurrentCaller, services: ServicesDep) -> None:
    """End one of this account's sessions."""
    if not services.sessions.revoke_id(caller.user.id, session_id):
        services.audit.record(
            actor=caller.actor,
            action="auth.session_revoke",
            outcome="not_found",
            object_type="session",
            object_id=session_id,
        )
        raise NotFoundError("no such session")
    services.audit.record(
        actor=caller.actor,
        action="auth.session_revoke",
        object_type="session",
        object_id=session_id,
    )


@router.get("/export")
def export(caller: CurrentCaller, services: ServicesDep, db: SessionDep) -> JSONResponse:
    """Everything Lumen holds about this account, as a JSON download."""
    document: dict[str, Any] = data_rights.export_user_data(
        services, db, user=caller.user, actor=caller.actor
    )
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": 'attachment; filename="lumen-export.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_me(
    body: PasswordConfirm,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
    response: Response,
) -> None:
    """Delete this account and everything in it (the password confirms)."""
    if not accounts.confirm_password(
        services, user=caller.user, password=body.password, actor=caller.actor
    ):
        raise FieldError("password", "the password is wrong")
    data_rights.delete_account(services, db, user=caller.user, actor=caller.actor)
    clear_session_cookies(response, services)
