"""A user's rights over their data: export it all, delete the account; and the retention job."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lumen.db.models import AuditEvent, Conversation, Feedback, Message, User
from lumen.services.accounts import utcnow
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.conversations import comment_context, decrypt_title, message_view
from lumen.services.profiles import decrypt_profile

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "lumen-export/1"


def export_user_data(
    services: Services, db: Session, *, user: User, actor: Actor
) -> dict[str, Any]:
    """Everything Lumen holds about the user, in clear text, as one JSON document."""
    conversations = db.scalars(
        select(Conversation)
        .where(Conversation.user_id == user.id)
        .order_by(Conversation.created_at)
    ).all()
    feedback = db.scalars(select(Feedback).where(Feedback.user_id == user.id)).all()
    audit = db.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.seq)
    ).all()
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow(services).isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "role": user.role,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
            "two_factor_enabled": user.totp_enabled,
        },
        "api_keys": [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role,
                "store_conversations": k.store_conversations,
                "created_at": k.created_at.isoformat(),
                "expires_at": _iso(k.expires_at),
                "last_used_at": _iso(k.last_used_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in user.api_keys
        ],
        "profiles": [
            {
                "id": p.id,
                "created_at": p.created_at.isoformat(),
                **_finite(decrypt_profile(services.keyring, p).to_dict()),
            }
            for p in user.profiles
        ],
        "conversations": [
            {
                "id": c.id,
                "title": decrypt_title(services, c),
                "created_at": c.created_at.isoformat(),
                "messages": [_jsonable(message_view(services, m)) for m in c.messages],
            }
            for c in conversations
        ],
        "feedback": [
            {
                "message_id": f.message_id,
                "rating": f.rating,
                "comment": services.keyring.decrypt(f.comment_enc, context=comment_context(f.id))
                if f.comment_enc
                else None,
                "created_at": f.created_at.isoformat(),
            }
            for f in feedback
        ],
        "audit_events": [
            {
                "seq": e.seq,
                "ts": e.ts.isoformat(),
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "outcome": e.outcome,
                "ip": e.ip,
            }
            for e in audit
        ],
    }
    services.audit.record(actor=actor, action="data.export", object_type="user", object_id=user.id)
    return document


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null: profiles saved before the API refused them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    out = dict(view)
    out["created_at"] = view["created_at"].isoformat()
    return out


def delete_account(services: Services, db: Session, *, user: User, actor: Actor) -> None:
    """Delete the user's rows (API keys too), sessions and cache entries; audit rows stay."""
    user_id = user.id
    services.sessions.revoke_all(user_id)
    removed = services.cache.forget_user(user_id)
    db.delete(user)
    db.commit()
    logger.info("account deleted with %s cache entries", removed)
    services.audit.record(
        actor=actor, action="account.delete", object_type="user", object_id=user_id
    )


def purge_expired_conversations(services: Services, *, days: int | None = None) -> int:
    """Delete conversations idle longer than the retention period; returns how many."""
    keep_days = days if days is not None else services.settings.retention.conversation_days
    cutoff = utcnow(services) - timedelta(days=keep_days)
    with services.database.session() as db:
        old = db.scalars(select(Conversation).where(Conversation.updated_at < cutoff)).all()
        ids = [c.id for c in old]
        for conversation in old:
            db.delete(conversation)
    for conversation_id in ids:
        services.audit.record(
            actor=Actor.system(),
            action="retention.purge",
            object_type="conversation",
            object_id=conversation_id,
        )
    logger.info("retention: deleted %s conversation(s) idle over %s days", len(ids), keep_days)
    return len(ids)


def count_rows_for(db: Session, user_id: str) -> dict[str, int]:
    """How many rows of each kind still point at ``user_id`` (tests, deletion checks)."""
    from sqlalchemy import func

    from lumen.db.models import PatientProfile

    counts = {}
    for name, model in (
        ("users", User),
        ("profiles", PatientProfile),
        ("conversations", Conversation),
        ("messages", Message),
        ("feedback", Feedback),
    ):
        column = getattr(model, "id" if model is User else "user_id")
        counts[name] = int(db.scalar(select(func.count()).where(column == user_id)) or 0)
    return counts
