"""The cross-encoder: MiniLM-L6-v2's first layers, mean pooling and a linear relevance head."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from lumen.components.model_files import minilm_dir


class CrossEncoder(torch.nn.Module):
    """Reads ``question [SEP] passage``; returns one relevance logit per pair."""

    def __init__(self, encoder: Any, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(hidden, 1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        """Logits of shape (batch,)."""
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        logits: torch.Tensor = self.head(pooled).squeeze(-1)
        return logits


def build_model(layers: int, *, seed: int, model_dir: Path | None = None) -> CrossEncoder:
    """MiniLM cut to its first ``layers`` layers with a fresh, seeded head."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(model_dir or minilm_dir()))
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    torch.manual_seed(seed)
    return CrossEncoder(encoder, int(encoder.config.hidden_size))


def pair_tokenizer(max_tokens: int, model_dir: Path | None = None) -> Tokenizer:
    """MiniLM's tokenizer set for pairs: the passage is cut to fit, batches padded."""
    tokenizer = Tokenizer.from_file(str((model_dir or minilm_dir()) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens, strategy="only_second")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
    return tokenizer


def encode(tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """Tensors for ``(question, passage)`` pairs."""
    encodings = tokenizer.encode_batch(list(pairs))
    return {
        "input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.long),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.long),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings], dtype=torch.long),
    }
