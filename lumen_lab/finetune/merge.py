"""``merge``: fold the LoRA adapter into the base weights and save a Hugging Face folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen_lab.finetune.config import Recipe
from lumen_lab.finetune.deps import require
from lumen_lab.finetune.models import load_model, load_tokenizer, make_serializable, resolve_base
from lumen_lab.finetune.train import ADAPTER

logger = logging.getLogger(__name__)

MERGED = "merged"


def merge(recipe: Recipe, out_dir: Path) -> Path:
    """Write ``<out_dir>/merged`` (safetensors + tokenizer) from the base and the adapter.

    The base is loaded unquantised (in the recipe's dtype, float32 for a GGUF base) so the
    merged weights are exact; a GGUF-loaded model is made serialisable first.
    """
    adapter_dir = out_dir / ADAPTER
    if not (adapter_dir / "adapter_config.json").is_file():
        raise InputError(f"no adapter in {adapter_dir}: run 'lumen finetune train' first")
    peft = require("peft")
    base = resolve_base(recipe.model)
    options = recipe.model
    if options.quantization == "nf4" and options.dtype == "float32":
        logger.info("merging into full-precision weights (the NF4 base is not merged)")
    unquantised = type(options)(**{**options.__dict__, "device": "cpu"})
    model: Any = load_model(base, unquantised, quantize=False)
    if base.gguf_file:
        make_serializable(model)
    model = peft.PeftModel.from_pretrained(model, str(adapter_dir))
    model = model.merge_and_unload()
    if base.gguf_file:
        make_serializable(model)
    target = out_dir / MERGED
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target), safe_serialization=True)
    tokenizer = load_tokenizer(base)
    tokenizer.save_pretrained(str(target))
    (target / "lumen_merge.json").write_text(
        json.dumps({"base": str(base.path), "adapter": str(adapter_dir), "recipe": recipe.name}),
        encoding="utf-8",
    )
    logger.info("merged model written to %s", target)
    return target
