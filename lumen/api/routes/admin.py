"""Admin: users and roles, feedback, the audit log and its verification, the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from lumen.api.deps import AdminCaller, ServicesDep, SessionDep
from lumen.api.schemas import (
    AuditAnchorPublic,
    AuditEventPublic,
    AuditVerification,
    CollectionStatsPublic,
    FeedbackPublic,
    IndexStats,
    Page,
    RoleUpdate,
    UserPublic,
)
from lumen.api.views import user_public
from lumen.documents import STANDARD_COLLECTIONS
from lumen.services import accounts, conversations

router = APIRouter(prefix="/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/users")
def list_users(
    caller: AdminCaller,
    services: ServicesDep,
    db: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[UserPublic]:
    """All accounts."""
    users, total = accounts.list_users(db, limit=limit, offset=offset)
    services.audit.record(actor=caller.actor, action="admin.users.list", object_type="user")
    return Page[UserPublic](
        items=[user_public(u) for u in users], total=total, limit=limit, offset=offset
    )


@router.patch("/users/{user_id}")
def set_role(
    user_id: str, body: RoleUpdate, caller: AdminCaller, services: ServicesDep, db: SessionDep
) -> UserPublic:
    """Change a user's role; their sessions end."""
    user = accounts.set_role(services, db, user_id=user_id, role=body.role, actor=caller.actor)
    return user_public(user)


@router.get("/feedback")
def list_feedback(
    caller: AdminCaller,
    services: ServicesDep,
    db: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[FeedbackPublic]:
    """Feedback on answers, newest first."""
    items, total = conversations.list_feedback(
        services, db, limit=limit, offset=offset, actor=caller.actor
    )
    return Page[FeedbackPublic](
        items=[FeedbackPublic(**i) for i in items], total=total, limit=limit, offset=offset
    )


@router.get("/audit")
def audit_log(
    caller: AdminCaller,
    services: ServicesDep,
    db: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditEventPublic]:
    """Audit rows, newest first."""
    rows, total = services.audit.list_events(
        db, limit=limit, offset=offset, actor_id=actor_id, action=action
    )
    services.audit.record(actor=caller.actor, action="admin.audit.list", object_type="audit")
    return Page[AuditEventPublic](
        items=[AuditEventPublic.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/audit/head")
def audit_head(caller: AdminCaller, services: ServicesDep) -> AuditAnchorPublic:
    """The chain head now, for an outside record (an anchor)."""
    anchor = services.audit.head()
    services.audit.record(actor=caller.actor, action="admin.audit.head", object_type="audit")
    return AuditAnchorPublic(seq=anchor.seq, hash=anchor.hash, taken_at=anchor.taken_at)


@router.get("/audit/verify")
async def verify_audit(caller: AdminCaller, services: ServicesDep) -> AuditVerification:
    """Recompute the hash chain."""
    report = await run_in_threadpool(services.audit.verify)
    services.audit.record(
        actor=caller.actor,
        action="admin.audit.verify",
        object_type="audit",
        outcome="success" if report.ok else "broken",
    )
    return AuditVerification(
        ok=report.ok,
        checked=report.checked,
        first_bad_seq=report.first_bad_seq,
        reason=report.reason,
    )


@router.get("/index")
def index_stats(caller: AdminCaller, services: ServicesDep) -> IndexStats:
    """Documents and chunks per collection and source in the vector store."""
    store = services.lumen.store
    names = sorted(set(store.collections()) | set(STANDARD_COLLECTIONS))
    stats = [store.stats(name) for name in names]
    services.audit.record(actor=caller.actor, action="admin.index.stats", object_type="index")
    return IndexStats(
        collections=[
            CollectionStatsPublic(
                name=s.name, points=s.points, documents=s.documents, sources=s.sources
            )
            for s in stats
        ],
        embedding_model=_text_or_none(store.get_metadata("embedding_model")),
    )


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)
