"""Conversations: threads of questions whose answers come from the RAG pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lumen.components.llm.base import LLMTimeout
from lumen.db.models import Conversation, Feedback, Message, PatientProfile, User, new_id
from lumen.documents import KNOWLEDGE
from lumen.errors import (
    ComponentError,
    FieldError,
    IndexUnavailable,
    InputError,
    LumenError,
    NotFoundError,
    RateLimitedError,
)
from lumen.rag.answer import Answer
from lumen.rag.pipeline import AskOptions, validate_question
from lumen.services.accounts import check_search_access, utcnow
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.model_queue import ModelBusyError
from lumen.services.ownership import owned_or_not_found
from lumen.services.profiles import decrypt_profile, owned_profile, profile_context

logger = logging.getLogger(__name__)

DEFAULT_TITLE = "New conversation"
TITLE_CHARS = 80


class AnswerUnavailableError(ComponentError):
    """The language model failed, ran out of time or was too busy; the question is kept.

    ``retry_after_s`` is set when the model's queue refused the question.
    """

    def __init__(
        self,
        message: str,
        *,
        timed_out: bool,
        message_id: str,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.message_id = message_id
        self.retry_after_s = retry_after_s


class QuestionIndexUnavailable(IndexUnavailable):
    """The search index cannot be opened (in use or unreachable); the question is kept."""

    def __init__(self, *, message_id: str) -> None:
        super().__init__(
            "the search index is unavailable right now; your question is saved, try again"
        )
        self.message_id = message_id


def title_context(conversation_id: str) -> str:
    """Associated data of a conversation title."""
    return f"conversations.title:{conversation_id}"


def question_context(message_id: str) -> str:
    """Associated data of a question."""
    return f"messages.question:{message_id}"


def answer_context(message_id: str) -> str:
    """Associated data of an answer."""
    return f"messages.answer:{message_id}"


def comment_context(feedback_id: str) -> str:
    """Associated data of a feedback comment."""
    return f"feedback.comment:{feedback_id}"


def decrypt_title(services: Services, conversation: Conversation) -> str:
    """A conversation's title in clear text."""
    return services.keyring.decrypt(conversation.title_enc, context=title_context(conversation.id))


def _audited_lookup(
    services: Services, db: Session, user: User, conversation_id: str, action: str, actor: Actor
) -> Conversation:
    return owned_or_not_found(
        services,
        db,
        Conversation,
        conversation_id,
        user=user,
        actor=actor,
        action=action,
        object_type="conversation",
        noun="conversation",
    )


def create_conversation(
    services: Services, db: Session, *, user: User, title: str | None, actor: Actor
) -> Conversation:
    """Start an empty conversation."""
    now = utcnow(services)
    conversation = Conversation(id=new_id(), user_id=user.id, created_at=now, updated_at=now)
    conversation.title_enc = services.keyring.encrypt(
        (title or DEFAULT_TITLE).strip()[:200] or DEFAULT_TITLE,
        context=title_context(conversation.id),
    )
    db.add(conversation)
    db.commit()
    services.audit.record(
        actor=actor,
        action="conversation.create",
        object_type="conversation",
        object_id=conversation.id,
    )
    return conversation


def list_conversations(
    services: Services,
    db: Session,
    *,
    user: User,
    limit: int,
    offset: int,
    search: str | None,
    actor: Actor,
) -> tuple[list[tuple[Conversation, str]], int]:
    """The user's conversations, most recent first; titles are searched after decryption."""
    query = (
        select(Conversation)
        .where(Conversation.user_id == user.id)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
    )
    services.audit.record(actor=actor, action="conversation.list", object_type="conversation")
    if search:
        needle = search.casefold()
        matches = [
            (c, title)
            for c in db.scalars(query)
            if needle in (title := decrypt_title(services, c)).casefold()
        ]
        return matches[offset : offset + limit], len(matches)
    total = db.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.user_id == user.id)
    )
    rows = db.scalars(query.limit(limit).offset(offset)).all()
    return [(c, decrypt_title(services, c)) for c in rows], int(total or 0)


def get_conversation(
    services: Services, db: Session, *, user: User, conversation_id: str, actor: Actor
) -> Conversation:
    """One of the user's conversations with its messages."""
    conversation = _audited_lookup(services, db, user, conversation_id, "conversation.read", actor)
    services.audit.record(
        actor=actor,
        action="conversation.read",
        object_type="conversation",
        object_id=conversation.id,
    )
    return conversation


def rename_conversation(
    services: Services, db: Session, *, user: User, conversation_id: str, title: str, actor: Actor
) -> Conversation:
    """Give a conversation a new title."""
    conversation = _audited_lookup(
        services, db, user, conversation_id, "conversation.rename", actor
    )
    conversation.title_enc = services.keyring.encrypt(
        title.strip()[:200], context=title_context(conversation.id)
    )
    db.commit()
    services.audit.record(
        actor=actor,
        action="conversation.rename",
        object_type="conversation",
        object_id=conversation.id,
    )
    return conversation


def delete_conversation(
    services: Services, db: Session, *, user: User, conversation_id: str, actor: Actor
) -> None:
    """Delete a conversation with its messages and feedback."""
    conversation = _audited_lookup(
        services, db, user, conversation_id, "conversation.delete", actor
    )
    db.delete(conversation)
    db.commit()
    services.audit.record(
        actor=actor,
        action="conversation.delete",
        object_type="conversation",
        object_id=conversation_id,
    )


@dataclass(frozen=True)
class PendingQuestion:
    """A checked question waiting for its answer, with everything needed to answer it.

    ``stored`` is False for a question answered without keeping it (an API key with
    conversations turned off): then ``message_id`` names the answer but no row, and
    ``conversation_id`` is None.
    """

    message_id: str
    conversation_id: str | None
    user_id: str
    question: str
    collections: tuple[str, ...]
    patient_context: str | None
    actor: Actor
    stored: bool = True


def submit_question(
    services: Services,
    db: Session,
    *,
    user: User,
    conversation_id: str | None,
    content: str,
    collections: list[str] | None,
    use_profile: bool,
    profile_id: str | None,
    actor: Actor,
    store: bool = True,
) -> PendingQuestion:
    """Check, rate-limit and store a question; the answer comes from :func:`answer_question`.

    Without ``conversation_id`` the question starts a new conversation; with ``store`` False
    it is checked and rate-limited alike but kept nowhere.
    """
    conversation = (
        _audited_lookup(services, db, user, conversation_id, "message.create", actor)
        if conversation_id is not None
        else None
    )
    question = validate_question(content, services.settings.verify.max_question_chars)
    chosen = tuple(dict.fromkeys(collections or [KNOWLEDGE]))
    for collection in chosen:
        check_search_access(user, collection, existing=services.lumen.store.collections)
    patient_context = None
    if use_profile:
        patient_context = _consented_context(services, db, user, profile_id, actor)
    api = services.settings.api
    decision = services.limiter.hit(
        f"ask:user:{user.id}", api.rate_limit_per_user, api.rate_window_s
    )
    if not decision.allowed:
        services.metrics.rate_limited("ask")
        raise RateLimitedError("too many questions; wait a moment", decision.retry_after_s)
    if not store:
        return PendingQuestion(
            message_id=new_id(),
            conversation_id=None,
            user_id=user.id,
            question=question,
            collections=chosen,
            patient_context=patient_context,
            actor=actor,
            stored=False,
        )
    now = utcnow(services)
    created = conversation is None
    if conversation is None:
        conversation = Conversation(id=new_id(), user_id=user.id, created_at=now, updated_at=now)
        conversation.title_enc = services.keyring.encrypt(
            DEFAULT_TITLE, context=title_context(conversation.id)
        )
        db.add(conversation)
    message = Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=user.id,
        status="pending",
        collections=list(chosen),
        used_profile=patient_context is not None,
        created_at=now,
        timings_ms={},
    )
    message.question_enc = services.keyring.encrypt(question, context=question_context(message.id))
    conversation.updated_at = message.created_at
    if created or decrypt_title(services, conversation) == DEFAULT_TITLE:
        conversation.title_enc = services.keyring.encrypt(
            _title_from(question), context=title_context(conversation.id)
        )
    db.add(message)
    db.commit()
    if created:
        services.audit.record(
            actor=actor,
            action="conversation.create",
            object_type="conversation",
            object_id=conversation.id,
        )
    services.audit.record(
        actor=actor, action="message.create", object_type="message", object_id=message.id
    )
    return PendingQuestion(
        message_id=message.id,
        conversation_id=conversation.id,
        user_id=user.id,
        question=question,
        collections=chosen,
        patient_context=patient_context,
        actor=actor,
    )


def _consented_context(
    services: Services, db: Session, user: User, profile_id: str | None, actor: Actor
) -> str | None:
    if profile_id:
        profile = owned_profile(
            services, db, user=user, profile_id=profile_id, actor=actor, action="profile.use"
        )
    else:
        first = db.scalars(
            select(PatientProfile)
            .where(PatientProfile.user_id == user.id)
            .order_by(PatientProfile.created_at)
            .limit(1)
        ).first()
        if first is None:
            raise FieldError("use_profile", "there is no patient profile to use; create one first")
        profile = first
    services.audit.record(
        actor=actor,
        action="profile.use",
        object_type="profile",
        object_id=profile.id,
    )
    return profile_context(decrypt_profile(services.keyring, profile)) or None


def _title_from(question: str) -> str:
    if len(question) <= TITLE_CHARS:
        return question
    return question[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _cache_key(services: Services, pending: PendingQuestion) -> str | None:
    """The answer-cache key under the index's current generation; None if it cannot be read."""
    from lumen.ingest.pipeline import index_generation

    try:
        generation = index_generation(services.lumen.store, pending.collections)
    except ComponentError as exc:
        logger.warning("index generation unavailable (%s); answering without the cache", exc)
        return None
    return services.cache.key(pending.question, pending.collections, generation=generation)


@dataclass(frozen=True)
class ProducedAnswer:
    """An answer as stored (a JSON-able dict), and whether it came from the cache."""

    answer: dict[str, Any]
    cached: bool


def produce_answer(
    services: Services,
    pending: PendingQuestion,
    *,
    on_token: Callable[[str], None] | None = None,
) -> ProducedAnswer:
    """Run the pipeline (or use the cache) for a checked question; nothing is stored here.

    On a model failure a stored question gets the status ``failed``.
    """
    cache = services.cache
    cacheable = cache.cacheable(pending.question, used_profile=pending.patient_context is not None)
    key = _cache_key(services, pending) if cacheable else None
    cached = cache.get(key) if key else None
    if key is not None:
        services.metrics.cache_event(hit=cached is not None)
    if cached is not None and key is not None:
        cache.remember(key, user_id=pending.user_id)
        if on_token is not None:
            on_token(str(cached.get("answer", "")))
        return ProducedAnswer(cached, cached=True)
    saved = "your question is saved, " if pending.stored else ""
    try:
        with services.model_queue.slot():
            answer = services.lumen.pipeline.ask(
                pending.question,
                AskOptions(
                    collections=pending.collections, patient_context=pending.patient_context
                ),
                on_token=on_token,
            )
    except InputError:
        raise
    except ComponentError as exc:  # the index, the model queue, the model itself
        error, raised = _failure(exc, saved=saved, message_id=pending.message_id)
        _mark_failed(services, pending, error=error)
        raise raised from exc
    answer_dict = _storable(answer)
    services.metrics.answer(answer)
    if key is not None and answer.mode in ("generated", "extractive"):
        cache.put(key, answer_dict, user_id=pending.user_id)
    return ProducedAnswer(answer_dict, cached=False)


def answer_question(
    services: Services,
    pending: PendingQuestion,
    *,
    on_token: Callable[[str], None] | None = None,
) -> Message:
    """Run the pipeline (or use the cache) and store the verified answer.

    Opens its own database session, so it may run in a worker thread while the request
    streams. On a model failure the question stays stored with status ``failed``.
    """
    produced = produce_answer(services, pending, on_token=on_token)
    answer_dict = produced.answer
    with services.database.session() as db:
        message = db.get(Message, pending.message_id)
        if message is None:  # the conversation was deleted meanwhile
            raise NotFoundError("the conversation was deleted")
        message.answer_enc = services.keyring.encrypt_json(
            answer_dict, context=answer_context(message.id)
        )
        message.status = "answered"
        message.mode = str(answer_dict.get("mode"))
        message.abstained = bool(answer_dict.get("abstained"))
        message.cached = produced.cached
        message.timings_ms = {k: float(v) for k, v in answer_dict.get("timings_ms", {}).items()}
        message.error = None
    answered: Message = message
    services.audit.record(
        actor=pending.actor,
        action="message.answer",
        object_type="message",
        object_id=pending.message_id,
    )
    return answered


def _storable(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    data.pop("retrieved", None)
    return data


def _failure(exc: ComponentError, *, saved: str, message_id: str) -> tuple[str, LumenError]:
    """What a failed answer is stored as (``messages.error``) and the error the caller gets."""
    if isinstance(exc, IndexUnavailable):
        logger.error("the search index is unavailable (%s); question kept", type(exc).__name__)
        return "index_unavailable", QuestionIndexUnavailable(message_id=message_id)
    if isinstance(exc, ModelBusyError):
        busy = f"Lumen is answering too many questions; {saved}try again shortly"
        return "busy", AnswerUnavailableError(
            busy, timed_out=False, message_id=message_id, retry_after_s=exc.retry_after_s
        )
    if isinstance(exc, LLMTimeout):
        slow = f"the language model took too long; {saved}try again"
        return "timeout", AnswerUnavailableError(slow, timed_out=True, message_id=message_id)
    down = f"the language model is unavailable; {saved}try again"
    return "model_unavailable", AnswerUnavailableError(down, timed_out=False, message_id=message_id)


def _mark_failed(services: Services, pending: PendingQuestion, *, error: str) -> None:
    if pending.stored:
        with services.database.session() as db:
            message = db.get(Message, pending.message_id)
            if message is not None:
                message.status = "failed"
                message.error = error
    services.audit.record(
        actor=pending.actor,
        action="message.answer",
        outcome="failure",
        object_type="message",
        object_id=pending.message_id,
    )


def message_view(services: Services, message: Message) -> dict[str, Any]:
    """A message in clear text for its owner."""
    answer = (
        services.keyring.decrypt_json(message.answer_enc, context=answer_context(message.id))
        if message.answer_enc
        else None
    )
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "question": services.keyring.decrypt(
            message.question_enc, context=question_context(message.id)
        ),
        "status": message.status,
        "answer": answer,
        "collections": list(message.collections),
        "used_profile": message.used_profile,
        "cached": message.cached,
        "error": message.error,
        "created_at": message.created_at,
    }


def give_feedback(
    services: Services,
    db: Session,
    *,
    user: User,
    message_id: str,
    rating: int,
    comment: str | None,
    actor: Actor,
) -> Feedback:
    """Record (or replace) the user's thumbs up or down on one of their answers."""
    message = owned_or_not_found(
        services,
        db,
        Message,
        message_id,
        user=user,
        actor=actor,
        action="feedback.create",
        object_type="message",
        noun="message",
    )
    if message.status != "answered":
        raise FieldError("message_id", "only answered messages take feedback")
    feedback = db.scalar(
        select(Feedback).where(Feedback.message_id == message.id, Feedback.user_id == user.id)
    )
    if feedback is None:
        feedback = Feedback(id=new_id(), message_id=message.id, user_id=user.id)
        db.add(feedback)
    feedback.rating = rating
    feedback.created_at = utcnow(services)
    feedback.comment_enc = (
        services.keyring.encrypt(comment, context=comment_context(feedback.id)) if comment else None
    )
    db.commit()
    services.metrics.feedback_given(rating=rating)
    services.audit.record(
        actor=actor, action="feedback.create", object_type="feedback", object_id=feedback.id
    )
    return feedback


def list_feedback(
    services: Services, db: Session, *, limit: int, offset: int, actor: Actor
) -> tuple[list[dict[str, Any]], int]:
    """All feedback, newest first (admins); comments decrypted, questions not included."""
    rows = db.scalars(
        select(Feedback)
        .order_by(Feedback.created_at.desc(), Feedback.id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = db.scalar(select(func.count()).select_from(Feedback)) or 0
    services.audit.record(actor=actor, action="admin.feedback.list", object_type="feedback")
    items = [
        {
            "id": f.id,
            "message_id": f.message_id,
            "user_id": f.user_id,
            "rating": f.rating,
            "comment": services.keyring.decrypt(f.comment_enc, context=comment_context(f.id))
            if f.comment_enc
            else None,
            "created_at": f.created_at,
        }
        for f in rows
    ]
    return items, int(total)
