"""Database rows and service results turned into response schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lumen.api.schemas import (
    ApiKeyPublic,
    ConversationPublic,
    MessagePublic,
    ProfilePublic,
    SessionPublic,
    UserPublic,
)
from lumen.db.models import ApiKey, Conversation, PatientProfile, User
from lumen.services.api_keys import is_active
from lumen.services.profiles import ProfileData
from lumen.services.sessions import SessionInfo


def user_public(user: User) -> UserPublic:
    """An account without secrets."""
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,  # type: ignore[arg-type]
        organisation=user.organisation,
        two_factor_enabled=user.totp_enabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def profile_public(profile: PatientProfile, data: ProfileData) -> ProfilePublic:
    """A profile in clear text for its owner."""
    return ProfilePublic(
        id=profile.id,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
        **data.to_dict(),
    )


def conversation_public(conversation: Conversation, title: str) -> ConversationPublic:
    """A conversation's summary."""
    return ConversationPublic(
        id=conversation.id,
        title=title,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def message_public(view: dict[str, Any]) -> MessagePublic:
    """A message view as its schema."""
    return MessagePublic(**view)


def session_public(info: SessionInfo, *, current_id: str) -> SessionPublic:
    """One of the user's sessions."""
    return SessionPublic(
        id=info.session_id,
        created_at=datetime.fromtimestamp(info.created_at, UTC),
        last_seen=datetime.fromtimestamp(info.last_seen, UTC),
        ip=info.ip,
        user_agent=info.user_agent,
        current=info.session_id == current_id,
    )


def api_key_public(key: ApiKey, *, now: datetime) -> ApiKeyPublic:
    """A key without its secret."""
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,  # type: ignore[arg-type]
        store_conversations=key.store_conversations,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        active=is_active(key, now),
    )
