"""The OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Errors on these paths take OpenAI's shape (``lumen.api.errors``). A streamed answer sends
the assistant's role at once, then the verified answer in pieces once it is checked (the
model's unverified draft is never sent), a last chunk with the citations, usage when asked
for, and ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from lumen.api.deps import CurrentCaller, ServicesDep, SessionDep
from lumen.api.errors import openai_error_body, status_for, user_message
from lumen.api.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CitationOut,
    Delta,
    LumenExtras,
    ModelList,
    ModelOut,
    Usage,
)
from lumen.errors import LumenError
from lumen.services import openai_api
from lumen.services.container import Services
from lumen.services.conversations import PendingQuestion
from lumen.services.openai_api import ChatTurn, Completion

logger = logging.getLogger(__name__)

router = APIRouter(tags=["openai"])

KEEP_ALIVE_S = 10.0


@router.get("/models")
def list_models(caller: CurrentCaller, services: ServicesDep) -> ModelList:
    """The models (collections) the caller's role may use."""
    created = int(services.clock.now())
    return ModelList(
        data=[
            ModelOut(id=m.id, created=created, description=m.description)
            for m in openai_api.models_for(caller.user)
        ]
    )


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}, "description": "With stream=true."}},
)
async def chat_completions(
    body: ChatCompletionRequest, caller: CurrentCaller, services: ServicesDep, db: SessionDep
) -> Any:
    """Answer the last user message with a verified, cited answer (or a safety response)."""
    openai_api.check_options(
        n=body.n,
        logprobs=body.logprobs,
        top_logprobs=body.top_logprobs,
        tools=body.tools,
        tool_choice=body.tool_choice,
        functions=body.functions,
        function_call=body.function_call,
        response_format=body.response_format,
        modalities=body.modalities,
        audio=body.audio,
    )
    question = openai_api.question_from([ChatTurn(m.role, m.content) for m in body.messages])
    store = caller.api_key.store_conversations if caller.api_key else True
    pending = await run_in_threadpool(
        openai_api.start_completion,
        services,
        db,
        user=caller.user,
        model=body.model,
        question=question,
        store=store,
        actor=caller.actor,
    )
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _stream(services, pending, body.model, include_usage=include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    completion = await run_in_threadpool(
        openai_api.finish_completion, services, pending, model=body.model
    )
    return ChatCompletion(
        id=completion.id,
        created=int(services.clock.now()),
        model=completion.model,
        choices=[Choice(message=AssistantMessage(content=completion.content))],
        usage=_usage(completion),
        citations=_citations(completion),
        lumen=_extras(completion),
    )


def _usage(completion: Completion) -> Usage:
    return Usage(
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        total_tokens=completion.prompt_tokens + completion.completion_tokens,
    )


def _citations(completion: Completion) -> list[CitationOut]:
    return [CitationOut(**c) for c in completion.citations]


def _extras(completion: Completion) -> LumenExtras:
    return LumenExtras(
        mode=completion.mode,
        abstained=completion.abstained,
        disclaimer=completion.disclaimer,
        safety=completion.safety,
        conversation_id=completion.conversation_id,
        message_id=completion.message_id,
    )


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


async def _stream(
    services: Services, pending: PendingQuestion, model: str, *, include_usage: bool
) -> AsyncIterator[bytes]:
    created = int(services.clock.now())
    chunk_id = "chatcmpl-" + pending.message_id.replace("-", "")

    def chunk(delta: Delta | None, **extra: Any) -> bytes:
        finish = extra.pop("finish_reason", None)
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish)]
        data = ChatCompletionChunk(
            id=chunk_id, created=created, model=model, choices=choices, **extra
        ).model_dump(mode="json")
        for name in ("usage", "citations", "lumen"):
            if data[name] is None:
                del data[name]
        for choice in data["choices"]:
            choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
        return _event(data)

    yield chunk(Delta(role="assistant", content=""))
    # The answer is stored by the worker even if the client goes away meanwhile.
    task = asyncio.ensure_future(
        run_in_threadpool(openai_api.finish_completion, services, pending, model=model)
    )
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=KEEP_ALIVE_S)
        if not done:
            yield b": keep-alive\n\n"
    try:
        completion = task.result()
    except LumenError as exc:
        status = status_for(exc)
        yield _event(openai_error_body(status, user_message(exc), exc=exc))
        return
    except Exception as exc:
        logger.error("completion failed: %s", type(exc).__name__)
        yield _event(openai_error_body(500, "something went wrong on Lumen's side; try again"))
        return
    for piece in openai_api.content_pieces(completion.content):
        yield chunk(Delta(content=piece))
    yield chunk(
        Delta(),
        finish_reason="stop",
        citations=_citations(completion),
        lumen=_extras(completion),
    )
    if include_usage:
        yield chunk(None, usage=_usage(completion))
    yield b"data: [DONE]\n\n"
