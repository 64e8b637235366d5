"""A row the caller owns: someone else's row is "not found", and the attempt is audited."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from lumen.db.models import User
from lumen.errors import NotFoundError
from lumen.services.audit import Actor
from lumen.services.container import Services


class _Owned(Protocol):
    @property
    def user_id(self) -> str: ...


OwnedRow = TypeVar("OwnedRow", bound=_Owned)


def owned_or_not_found(
    services: Services,
    db: Session,
    model: type[OwnedRow],
    object_id: str,
    *,
    user: User,
    actor: Actor,
    action: str,
    object_type: str,
    noun: str,
) -> OwnedRow:
    """The user's row of ``model``; a missing or foreign one is audited and raised as 404.

    Both cases read the same, so nobody learns whether another user's id exists.
    """
    row = db.get(model, object_id)
    if row is None or row.user_id != user.id:
        services.audit.record(
            actor=actor,
            action=action,
            outcome="not_found",
            object_type=object_type,
            object_id=object_id[:64],
        )
        raise NotFoundError(f"no such {noun}")
    return row
