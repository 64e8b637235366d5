"""OpenAI-compatible chat completions over Lumen's one question path.

The models are Lumen's collections (``lumen`` is the consumer knowledge, ``lumen-drugs``
and ``lumen-regulatory`` the others), filtered by the caller's role. The last message is
the question and goes through :mod:`lumen.services.conversations` like any other: checked,
rate-limited, triaged, answered, verified and, unless the API key says otherwise, stored as
a conversation of its owner. Earlier turns and system prompts never reach the model: they
cannot change Lumen's prompt, loosen the verifier or skip triage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lumen.db.models import User
from lumen.documents import KNOWLEDGE, STANDARD_COLLECTIONS
from lumen.errors import FieldError, NotFoundError
from lumen.services import conversations
from lumen.services.accounts import allowed_collections, own_collection
from lumen.services.audit import Actor
from lumen.services.container import Services
from lumen.services.conversations import PendingQuestion, answer_context

MODEL_PREFIX = "lumen"
#: Characters of text over all messages of one request.
MAX_TOTAL_CHARS = 32_000
#: Answers that come through exactly as written: never generated, nothing appended.
FIXED_MODES = frozenset({"crisis", "emergency", "refused"})
_DESCRIPTIONS = {
    "knowledge": "Consumer health knowledge (MedlinePlus, NIH and similar), verified and cited.",
    "drugs": "Drug labels (openFDA), verified and cited; pharma and admin roles.",
    "regulatory": "Regulatory guidance, verified and cited; pharma and admin roles.",
}
_TEXT_PARTS = frozenset({"text", "input_text"})


class UnsupportedParameterError(FieldError):
    """A request parameter Lumen does not support (tools, n > 1, logprobs, images)."""


class ModelNotFoundError(NotFoundError):
    """No such model, or the caller's role may not use it (the two look the same)."""


@dataclass(frozen=True)
class ModelInfo:
    """A model of the OpenAI API: one collection."""

    id: str
    collection: str
    description: str


@dataclass(frozen=True)
class ChatTurn:
    """One message of a request: its role and its content (text or content parts)."""

    role: str
    content: str | list[dict[str, Any]] | None


@dataclass(frozen=True)
class Completion:
    """A finished answer in the shape the OpenAI API needs."""

    id: str
    model: str
    content: str
    citations: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int
    mode: str
    abstained: bool
    disclaimer: str
    safety: dict[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    message_id: str | None = None


def model_id(collection: str) -> str:
    """The model name of a collection: ``lumen`` for knowledge, ``lumen-<name>`` otherwise."""
    return MODEL_PREFIX if collection == KNOWLEDGE else f"{MODEL_PREFIX}-{collection}"


def models_for(user: User) -> list[ModelInfo]:
    """The models a user may use: their role's collections, and a pharma user's organisation's."""
    allowed = allowed_collections(user.role)
    models = [
        ModelInfo(model_id(c), c, _DESCRIPTIONS.get(c, c))
        for c in STANDARD_COLLECTIONS
        if c in allowed
    ]
    organisation = own_collection(user)
    if organisation is not None:
        models.append(
            ModelInfo(model_id(organisation), organisation, f"{organisation}'s own documents")
        )
    return models


def collection_for(model: str, user: User) -> str:
    """The collection behind ``model`` for this user, or ModelNotFoundError."""
    for info in models_for(user):
        if info.id == model:
            return info.collection
    raise ModelNotFoundError(
        f"the model '{model[:100]}' does not exist or you do not have access to it"
    )


def check_options(
    *,
    n: int | None,
    logprobs: bool | None,
    top_logprobs: int | None,
    tools: list[dict[str, Any]] | None,
    tool_choice: str | dict[str, Any] | None,
    functions: list[dict[str, Any]] | None,
    function_call: str | dict[str, Any] | None,
    response_format: dict[str, Any] | None,
    modalities: list[str] | None,
    audio: dict[str, Any] | None,
) -> None:
    """Refuse what Lumen cannot honour without changing what a verified answer is."""
    if n is not None and n > 1:
        raise UnsupportedParameterError("n", "n > 1 is not supported: Lumen gives one answer")
    if logprobs or top_logprobs is not None:
        raise UnsupportedParameterError(
            "logprobs" if logprobs else "top_logprobs",
            "logprobs are not supported: the answer is verified text, not model samples",
        )
    if tools or functions:
        raise UnsupportedParameterError(
            "tools" if tools else "functions",
            "tools and function calling are not supported",
        )
    for name, choice in (("tool_choice", tool_choice), ("function_call", function_call)):
        if choice is not None and choice != "none":
            raise UnsupportedParameterError(name, f"{name} is not supported")
    if response_format is not None and response_format.get("type") != "text":
        raise UnsupportedParameterError(
            "response_format", "only the text response format is supported"
        )
    if modalities is not None and any(m != "text" for m in modalities):
        raise UnsupportedParameterError("modalities", "only text output is supported")
    if audio is not None:
        raise UnsupportedParameterError("audio", "audio output is not supported")


def question_from(turns: Sequence[ChatTurn]) -> str:
    """The last message's text: the question. Images anywhere are refused."""
    total = 0
    texts: list[str] = []
    for i, turn in enumerate(turns):
        text = _turn_text(i, turn.content)
        total += len(text)
        texts.append(text)
    if total > MAX_TOTAL_CHARS:
        raise FieldError(
            "messages", f"the messages hold {total} characters; at most {MAX_TOTAL_CHARS}"
        )
    if not turns or turns[-1].role != "user":
        raise FieldError("messages", "the last message must be the user's question")
    return texts[-1]


def _turn_text(index: int, content: str | list[dict[str, Any]] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    pieces = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if not isinstance(kind, str) or kind not in _TEXT_PARTS:
            shown = kind[:40] if isinstance(kind, str) and kind.isprintable() else "?"
            raise UnsupportedParameterError(
                f"messages[{index}].content[{j}].type",
                f"content parts of type '{ascii(shown)[1:-1]}' are not supported: "
                "Lumen answers text questions",
            )
        text = part.get("text")
        if not isinstance(text, str):
            raise FieldError(f"messages[{index}].content[{j}].text", "a text part needs text")
        pieces.append(text)
    return "\n".join(pieces)


def start_completion(
    services: Services,
    db: Session,
    *,
    user: User,
    model: str,
    question: str,
    store: bool,
    actor: Actor,
) -> PendingQuestion:
    """Check and rate-limit the question like any other; stored as a new conversation."""
    collection = collection_for(model, user)
    return conversations.submit_question(
        services,
        db,
        user=user,
        conversation_id=None,
        content=question,
        collections=[collection],
        use_profile=False,
        profile_id=None,
        actor=actor,
        store=store,
    )


def finish_completion(services: Services, pending: PendingQuestion, *, model: str) -> Completion:
    """Answer through the shared question path (stored unless the key said not to)."""
    if pending.stored:
        message = conversations.answer_question(services, pending)
        answer: dict[str, Any] = (
            services.keyring.decrypt_json(message.answer_enc, context=answer_context(message.id))
            if message.answer_enc
            else {}
        )
        cached = message.cached
    else:
        produced = conversations.produce_answer(services, pending)
        answer, cached = produced.answer, produced.cached
        services.audit.record(
            actor=pending.actor,
            action="completion.answer",
            object_type="completion",
            object_id=pending.message_id,
        )
    content = compose_content(answer)
    llm = services.lumen.pipeline.llm
    timings = answer.get("timings_ms", {})
    if not cached and timings.get("prompt_tokens"):
        prompt_tokens = int(timings["prompt_tokens"])  # the prompt the model read, sources too
    else:
        prompt_tokens = llm.count_tokens(pending.question)  # the model did not run
    mode = str(answer.get("mode", ""))
    return Completion(
        id="chatcmpl-" + pending.message_id.replace("-", ""),
        model=model,
        content=content,
        citations=[_citation(c) for c in answer.get("citations", [])],
        prompt_tokens=prompt_tokens,
        completion_tokens=llm.count_tokens(content),
        mode=mode,
        abstained=bool(answer.get("abstained")),
        disclaimer=str(answer.get("disclaimer", "")),
        safety=dict(answer.get("safety", {})),
        conversation_id=pending.conversation_id,
        message_id=pending.message_id if pending.stored else None,
    )


def compose_content(answer: dict[str, Any]) -> str:
    """The verified answer with its ``[n]`` marks, the sources, then the disclaimer.

    Crisis, emergency and refusal texts come through exactly as written.
    """
    text = str(answer.get("answer", ""))
    if answer.get("mode") in FIXED_MODES:
        return text
    parts = [text]
    citations = answer.get("citations", [])
    if citations:
        lines = [f"[{c['n']}] {c['title']} - {c['url']}" for c in citations]
        parts.append("Sources:\n" + "\n".join(lines))
    disclaimer = str(answer.get("disclaimer", ""))
    if disclaimer:
        parts.append(disclaimer)
    return "\n\n".join(parts)


def _citation(citation: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "title", "url", "source", "collection", "snippet", "score")
    return {k: citation[k] for k in keys if k in citation}


def content_pieces(content: str, words: int = 4) -> list[str]:
    """The content cut into pieces of a few words for streaming (they join back exactly)."""
    tokens = re.split(r"(?<=\s)(?=\S)", content)
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)] or [""]
