"""Conversations and questions; answers come back as JSON or as server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from lumen.api.deps import CurrentCaller, ServicesDep, SessionDep
from lumen.api.errors import status_for
from lumen.api.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationPublic,
    ConversationUpdate,
    FeedbackCreate,
    FeedbackReceipt,
    MessageCreate,
    MessagePublic,
    Page,
)
from lumen.api.views import conversation_public, message_public
from lumen.errors import LumenError
from lumen.services import conversations
from lumen.services.container import Services
from lumen.services.conversations import PendingQuestion, message_view

logger = logging.getLogger(__name__)

router = APIRouter(tags=["conversations"])

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]


@router.get("/conversations")
def list_conversations(
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200, description="Search in titles.")] = None,
) -> Page[ConversationPublic]:
    """The user's conversations, most recent first."""
    rows, total = conversations.list_conversations(
        services, db, user=caller.user, limit=limit, offset=offset, search=q, actor=caller.actor
    )
    items = [conversation_public(c, title) for c, title in rows]
    return Page[ConversationPublic](items=items, total=total, limit=limit, offset=offset)


@router.post("/conversations", status_code=status.HTTP_201_CREATED)
def create_conversation(
    body: ConversationCreate, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> ConversationPublic:
    """Start a conversation."""
    conversation = conversations.create_conversation(
        services, db, user=caller.user, title=body.title, actor=caller.actor
    )
    return conversation_public(conversation, conversations.decrypt_title(services, conversation))


@router.get("/conversations/{conversation_id}")
def read_conversation(
    conversation_id: str, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> ConversationDetail:
    """A conversation with its questions and answers."""
    conversation = conversations.get_conversation(
        services, db, user=caller.user, conversation_id=conversation_id, actor=caller.actor
    )
    summary = conversation_public(conversation, conversations.decrypt_title(services, conversation))
    messages = [message_public(message_view(services, m)) for m in conversation.messages]
    return ConversationDetail(**summary.model_dump(), messages=messages)


@router.patch("/conversations/{conversation_id}")
def rename_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
) -> ConversationPublic:
    """Rename a conversation."""
    conversation = conversations.rename_conversation(
        services,
        db,
        user=caller.user,
        conversation_id=conversation_id,
        title=body.title,
        actor=caller.actor,
    )
    return conversation_public(conversation, conversations.decrypt_title(services, conversation))


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_conversation(
    conversation_id: str, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> None:
    """Delete a conversation and its messages."""
    conversations.delete_conversation(
        services, db, user=caller.user, conversation_id=conversation_id, actor=caller.actor
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessagePublic,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "With stream=true."},
        503: {"description": "The model is unavailable; the question is kept."},
        504: {"description": "The model timed out; the question is kept."},
    },
)
async def post_message(
    conversation_id: str,
    body: MessageCreate,
    request: Request,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
) -> Any:
    """Ask a question; the answer comes as JSON or, streamed, as server-sent events.

    With ``stream`` (or ``Accept: text/event-stream``) the events are ``message`` (the
    stored question's id), ``token`` (the model's unverified draft, piece by piece), then
    ``final`` (the verified answer) or ``error``.
    """
    pending = await run_in_threadpool(
        conversations.submit_question,
        services,
        db,
        user=caller.user,
        conversation_id=conversation_id,
        content=body.content,
        collections=list(body.collections) if body.collections else None,
        use_profile=body.use_profile,
        profile_id=body.profile_id,
        actor=caller.actor,
    )
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if wants_stream:
        return StreamingResponse(
            _stream_answer(services, pending),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    message = await run_in_threadpool(conversations.answer_question, services, pending)
    return message_public(message_view(services, message))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, default=str, ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def _stream_answer(services: Services, pending: PendingQuestion) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def on_token(piece: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("token", piece))

    def work() -> None:
        try:
            message = conversations.answer_question(services, pending, on_token=on_token)
            view = message_view(services, message)
            loop.call_soon_threadsafe(queue.put_nowait, ("final", view))
        except LumenError as exc:
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        except Exception as exc:
            logger.error("answer failed: %s", type(exc).__name__)
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

    yield _sse("message", {"id": pending.message_id, "status": "pending"})
    threading.Thread(target=work, name="lumen-answer", daemon=True).start()
    while True:
        kind, value = await queue.get()
        if kind == "token":
            yield _sse("token", {"text": value})
        elif kind == "final":
            yield _sse("final", message_public(value).model_dump(mode="json"))
            return
        else:
            if isinstance(value, LumenError):
                code, text = status_for(value), str(value)
            else:
                code, text = 500, "something went wrong on Lumen's side; try again"
            yield _sse("error", {"status": code, "message": text, "message_id": pending.message_id})
            return


@router.post("/messages/{message_id}/feedback", status_code=status.HTTP_201_CREATED)
def give_feedback(
    message_id: str,
    body: FeedbackCreate,
    caller: CurrentCaller,
    services: ServicesDep,
    db: SessionDep,
) -> FeedbackReceipt:
    """Thumbs up or down on an answer, with an optional comment."""
    feedback = conversations.give_feedback(
        services,
        db,
        user=caller.user,
        message_id=message_id,
        rating=body.rating,
        comment=body.comment,
        actor=caller.actor,
    )
    return FeedbackReceipt(
        id=feedback.id,
        message_id=feedback.message_id,
        rating=1 if feedback.rating > 0 else -1,
    )
