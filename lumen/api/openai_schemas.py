"""The OpenAI wire format of ``/v1``: chat completion requests, responses, chunks, models.

Field names and shapes follow OpenAI's API so that its SDKs and the front ends built on
them work unchanged; ``citations`` and ``lumen`` are Lumen's additions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

MAX_MESSAGES = 64
MAX_COMPLETION_TOKENS = 4096


class ChatMessageIn(BaseModel):
    """One message of the request (fields Lumen does not use are ignored)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = Field(None, max_length=256)


class StreamOptions(BaseModel):
    """Options of a streamed response."""

    model_config = ConfigDict(extra="ignore")

    include_usage: StrictBool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``; unknown fields are refused, as OpenAI does."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=100, description="A model from /v1/models.")
    messages: list[ChatMessageIn] = Field(
        min_length=1, max_length=MAX_MESSAGES, description="The last one is the question."
    )
    stream: StrictBool = False  # "yes" or 1 is a 400, as OpenAI answers it
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=MAX_COMPLETION_TOKENS)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_COMPLETION_TOKENS)
    n: int | None = Field(None, ge=1, le=128)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    user: str | None = Field(None, max_length=256)
    metadata: dict[str, str] | None = Field(None, max_length=16)
    store: StrictBool | None = None
    # Accepted only to refuse them with a clear message (see lumen.services.openai_api).
    logprobs: StrictBool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _few_short_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 4 or any(len(s) > 200 for s in stops):
            raise ValueError("at most 4 stop sequences of up to 200 characters")
        return value


class CitationOut(BaseModel):
    """A source behind ``[n]`` in the content."""

    n: int
    title: str
    url: str
    source: str
    collection: str
    snippet: str
    score: float


class LumenExtras(BaseModel):
    """What Lumen adds: the answer's mode, safety flags and where it was stored."""

    mode: str
    abstained: bool
    disclaimer: str
    safety: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = None
    message_id: str | None = None


class Usage(BaseModel):
    """Token counts (the language model's tokenizer)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    """The answer."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class Choice(BaseModel):
    """The one choice."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A non-streamed response."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut]
    system_fingerprint: str | None = None
    lumen: LumenExtras


class Delta(BaseModel):
    """A piece of the answer."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed response."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    citations: list[CitationOut] | None = None
    lumen: LumenExtras | None = None


class ModelOut(BaseModel):
    """A model: one of Lumen's collections."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "lumen"
    description: str


class ModelList(BaseModel):
    """The models the caller's role may use."""

    object: Literal["list"] = "list"
    data: list[ModelOut]


class OpenAIErrorBody(BaseModel):
    """What went wrong, as OpenAI's SDKs read it."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """Every error under ``/v1``: ``{"error": {message, type, param, code}}``."""

    error: OpenAIErrorBody
