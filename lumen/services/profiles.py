"""Patient profiles: demographics, conditions, medications and allergies, encrypted per value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lumen.db.models import PatientProfile, User, new_id
from lumen.security.crypto import Keyring
from lumen.services.accounts import utcnow
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.ownership import owned_or_not_found

ENCRYPTED_FIELDS = ("label", "demographics", "conditions", "medications", "allergies")


@dataclass
class ProfileData:
    """A profile in clear text, only ever in memory."""

    label: str
    demographics: dict[str, Any] = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A plain dictionary."""
        return asdict(self)


def field_context(profile_id: str, name: str) -> str:
    """Associated data binding a ciphertext to its row and column."""
    return f"patient_profiles.{name}:{profile_id}"


def encrypt_into(keyring: Keyring, profile: PatientProfile, data: ProfileData) -> None:
    """Encrypt every value of ``data`` into ``profile``, each with a fresh nonce."""
    for name in ENCRYPTED_FIELDS:
        token = keyring.encrypt_json(getattr(data, name), context=field_context(profile.id, name))
        setattr(profile, f"{name}_enc", token)


def decrypt_profile(keyring: Keyring, profile: PatientProfile) -> ProfileData:
    """The profile's values in clear text."""
    values = {
        name: keyring.decrypt_json(
            getattr(profile, f"{name}_enc"), context=field_context(profile.id, name)
        )
        for name in ENCRYPTED_FIELDS
    }
    return ProfileData(**values)


def owned_profile(
    services: Services, db: Session, *, user: User, profile_id: str, actor: Actor, action: str
) -> PatientProfile:
    """The user's profile; a missing or foreign one is audited as ``not_found`` and raised."""
    return owned_or_not_found(
        services,
        db,
        PatientProfile,
        profile_id,
        user=user,
        actor=actor,
        action=action,
        object_type="profile",
        noun="profile",
    )


def create_profile(
    services: Services, db: Session, *, user: User, data: ProfileData, actor: Actor
) -> tuple[PatientProfile, ProfileData]:
    """Store a new profile for ``user``."""
    now = utcnow(services)
    profile = PatientProfile(user_id=user.id, created_at=now, updated_at=now)
    profile.id = new_id()
    encrypt_into(services.keyring, profile, data)
    db.add(profile)
    db.commit()
    services.audit.record(
        actor=actor, action="profile.create", object_type="profile", object_id=profile.id
    )
    return profile, data


def list_profiles(
    services: Services, db: Session, *, user: User, actor: Actor
) -> list[tuple[PatientProfile, ProfileData]]:
    """The user's profiles, oldest first."""
    rows = db.scalars(
        select(PatientProfile)
        .where(PatientProfile.user_id == user.id)
        .order_by(PatientProfile.created_at, PatientProfile.id)
    ).all()
    services.audit.record(actor=actor, action="profile.list", object_type="profile")
    return [(row, decrypt_profile(services.keyring, row)) for row in rows]


def get_profile(
    services: Services, db: Session, *, user: User, profile_id: str, actor: Actor
) -> tuple[PatientProfile, ProfileData]:
    """One of the user's profiles; another user's is reported as missing."""
    profile = owned_profile(
        services, db, user=user, profile_id=profile_id, actor=actor, action="profile.read"
    )
    data = decrypt_profile(services.keyring, profile)
    services.audit.record(
        actor=actor, action="profile.read", object_type="profile", object_id=profile.id
    )
    return profile, data


def update_profile(
    services: Services,
    db: Session,
    *,
    user: User,
    profile_id: str,
    changes: dict[str, Any],
    actor: Actor,
) -> tuple[PatientProfile, ProfileData]:
    """Change the given fields of a profile."""
    profile = owned_profile(
        services, db, user=user, profile_id=profile_id, actor=actor, action="profile.update"
    )
    data = decrypt_profile(services.keyring, profile)
    for name, value in changes.items():
        if name in ENCRYPTED_FIELDS:
            setattr(data, name, value)
    encrypt_into(services.keyring, profile, data)
    profile.updated_at = utcnow(services)
    db.commit()
    services.audit.record(
        actor=actor, action="profile.update", object_type="profile", object_id=profile.id
    )
    return profile, data


def delete_profile(
    services: Services, db: Session, *, user: User, profile_id: str, actor: Actor
) -> None:
    """Delete one of the user's profiles."""
    profile = owned_profile(
        services, db, user=user, profile_id=profile_id, actor=actor, action="profile.delete"
    )
    db.delete(profile)
    db.commit()
    services.audit.record(
        actor=actor, action="profile.delete", object_type="profile", object_id=profile_id
    )


def profile_context(data: ProfileData) -> str:
    """A short description of the patient for the prompt (only with the user's consent)."""
    lines = []
    demographics = ", ".join(
        f"{k}: {v}" for k, v in data.demographics.items() if v not in ("", None)
    )
    if demographics:
        lines.append(f"Demographics: {demographics}")
    if data.conditions:
        lines.append("Conditions: " + ", ".join(data.conditions))
    if data.medications:
        lines.append("Current medications: " + ", ".join(data.medications))
    if data.allergies:
        lines.append("Allergies: " + ", ".join(data.allergies))
    return "\n".join(lines)
