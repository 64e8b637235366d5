"""Personal API keys of the signed-in account: create (shown once), list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from lumen.api.deps import ServicesDep, SessionCaller, SessionDep
from lumen.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from lumen.api.views import api_key_public
from lumen.services import api_keys
from lumen.services.container import Services

router = APIRouter(prefix="/me/api-keys", tags=["api-keys"])


def _now(services: Services) -> datetime:
    return datetime.fromtimestamp(services.clock.now(), UTC)


@router.get("")
def list_keys(caller: SessionCaller, services: ServicesDep, db: SessionDep) -> list[ApiKeyPublic]:
    """The account's keys, newest first (revoked and expired ones too)."""
    keys = api_keys.list_keys(services, db, user=caller.user, actor=caller.actor)
    now = _now(services)
    return [api_key_public(k, now=now) for k in keys]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_key(
    body: ApiKeyCreate, caller: SessionCaller, services: ServicesDep, db: SessionDep
) -> ApiKeyCreated:
    """A new key; its secret is in this response only."""
    key, secret = api_keys.create_key(
        services,
        db,
        user=caller.user,
        name=body.name,
        expires_in_days=body.expires_in_days,
        store_conversations=body.store_conversations,
        actor=caller.actor,
    )
    public = api_key_public(key, now=_now(services))
    return ApiKeyCreated(**public.model_dump(), key=secret)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: str, caller: SessionCaller, services: ServicesDep, db: SessionDep) -> None:
    """Revoke a key: it stops working at once."""
    api_keys.revoke_key(services, db, user=caller.user, key_id=key_id, actor=caller.actor)
