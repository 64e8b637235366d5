"""Patient profiles of the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, status

from lumen.api.deps import CurrentCaller, IdPath, ServicesDep, SessionDep
from lumen.api.schemas import ProfileCreate, ProfilePublic, ProfileUpdate
from lumen.api.views import profile_public
from lumen.services import profiles
from lumen.services.profiles import ProfileData

router = APIRouter(prefix="/profiles", tags=["profiles"])


@router.get("")
def list_profiles(
    caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> list[ProfilePublic]:
    """The user's profiles."""
    rows = profiles.list_profiles(services, db, user=caller.user, actor=caller.actor)
    return [profile_public(p, d) for p, d in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_profile(
    body: ProfileCreate, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> ProfilePublic:
    """Store a new profile (encrypted)."""
    profile, data = profiles.create_profile(
        services, db, user=caller.user, data=ProfileData(**body.model_dump()), actor=caller.actor
    )
    return profile_public(profile, data)


@router.get("/{profile_id}")
def read_profile(
    profile_id: IdPath, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> ProfilePublic:
    """One profile."""
    profile, data = profiles.get_profile(
        services, db, user=caller.user, profile_id=profile_id, actor=caller.actor
    )
    return profile_public(profile, data)


@router.patch("/{profile_id}")
def update_profile(
    profile_id: IdPath,
    body: ProfileUpdate,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
) -> ProfilePublic:
    """Change some fields of a profile."""
    profile, data = profiles.update_profile(
        services,
        db,
        user=caller.user,
        profile_id=profile_id,
        changes=body.model_dump(exclude_unset=True, exclude_none=True),
        actor=caller.actor,
    )
    return profile_public(profile, data)


@router.delete("/{profile_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(
    profile_id: IdPath, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> None:
    """Delete a profile."""
    profiles.delete_profile(
        services, db, user=caller.user, profile_id=profile_id, actor=caller.actor
    )
