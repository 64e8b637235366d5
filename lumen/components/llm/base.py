"""The LLM interface: chat messages in, a stream of text pieces out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from lumen.errors import ComponentError


class LLMTimeout(ComponentError):
    """The model did not finish within the generation timeout."""


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """How to sample one answer."""

    max_tokens: int = 256
    temperature: float = 0.1
    stop: tuple[str, ...] = ()
    timeout_s: float = 30.0
    #: Added to the logits of these words' first tokens (either case) at the answer's first
    #: token only: a fine-tuned model's verdict calibration. Backends that cannot bias one
    #: position alone ignore it.
    opening_bias: Mapping[str, float] = field(default_factory=dict)
    #: When set, the answer opens with the one of these words the model finds likeliest as a
    #: word (its case forms together, plus ``opening_bias``): a fine-tuned model's verdict.
    #: Backends that cannot constrain the opening ignore it.
    opening_words: tuple[str, ...] = ()


class LLM(Protocol):
    """A chat model that streams its answer."""

    @property
    def identity(self) -> str:
        """Names the backend and model."""

    @property
    def context_window(self) -> int:
        """Tokens the model sees at once, prompt and answer together."""

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes (an upper estimate where no tokenizer is at hand)."""

    def stream_chat(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the answer piece by piece; LLMTimeout past the timeout, ComponentError else."""
