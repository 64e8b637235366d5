"""Finding and loading the base model: the packaged SmolLM2 GGUF, a GGUF file or an HF folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen_lab.finetune.config import SMOLLM2, ModelOptions
from lumen_lab.finetune.deps import available, require

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaseModel:
    """Where the base model is: a folder, and the GGUF file in it when it is one."""

    folder: Path
    gguf_file: str | None

    @property
    def path(self) -> Path:
        """The GGUF file, or the folder."""
        return self.folder / self.gguf_file if self.gguf_file else self.folder

    def size_bytes(self) -> int:
        """Bytes on disk (weights included)."""
        if self.gguf_file:
            return self.path.stat().st_size
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def resolve_base(options: ModelOptions) -> BaseModel:
    """The base model named by ``model.base``; InputError when it is not there."""
    if options.base == SMOLLM2:
        from lumen.components.model_files import smollm2_gguf

        path = smollm2_gguf()
        if not path.is_file():
            raise InputError(f"model.base: the packaged SmolLM2 GGUF is missing ({path})")
        return BaseModel(path.parent, path.name)
    path = Path(options.base).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise InputError(f"model.base: GGUF file not found: {path}")
        return BaseModel(path.parent, path.name)
    if not path.is_dir():
        raise InputError(
            f"model.base: {path} is neither a model folder nor a .gguf file "
            "(nothing is downloaded: point it at a local copy)"
        )
    if not (path / "config.json").is_file():
        raise InputError(f"model.base: {path} has no config.json (not a Hugging Face model folder)")
    return BaseModel(path, None)


def load_tokenizer(base: BaseModel) -> Any:
    """The base model's tokenizer (with its chat template); pad token set."""
    transformers = require("transformers")
    kwargs: dict[str, Any] = {"gguf_file": base.gguf_file} if base.gguf_file else {}
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base.folder), **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(f"model.base: {base.path} has no chat template (not a chat model)")
    return tokenizer


def torch_dtype(name: str) -> Any:
    """The torch dtype called ``name``."""
    torch = require("torch")
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def nf4_available(device: str) -> bool:
    """Whether bitsandbytes can do NF4 here (on the CPU since 0.48, on CUDA always)."""
    return available("bitsandbytes")


def dequantised_copy(base: BaseModel, target: Path) -> BaseModel:
    """A GGUF base saved once as a Hugging Face folder (transformers cannot NF4-load a GGUF)."""
    if (target / "config.json").is_file():
        return BaseModel(target, None)
    transformers = require("transformers")
    logger.info("saving %s as a Hugging Face folder in %s", base.path, target)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(base.folder), gguf_file=base.gguf_file, dtype=torch_dtype("float32")
    )
    make_serializable(model)
    model.save_pretrained(str(target), safe_serialization=True)
    load_tokenizer(base).save_pretrained(str(target))
    return BaseModel(target, None)


def load_model(
    base: BaseModel, options: ModelOptions, *, quantize: bool, work_dir: Path | None = None
) -> Any:
    """The base causal LM; 4-bit NF4 when ``quantize`` (QLoRA) and bitsandbytes is there.

    A GGUF base is dequantised into ``work_dir`` first when it is to be NF4-quantised.
    """
    transformers = require("transformers")
    if quantize and base.gguf_file:
        if work_dir is None:
            raise InputError("model.quantization nf4 with a GGUF base needs a work folder")
        base = dequantised_copy(base, work_dir)
    dtype = torch_dtype(options.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if base.gguf_file:
        kwargs["gguf_file"] = base.gguf_file
    if options.device == "cpu":
        kwargs["device_map"] = "cpu"
    elif options.device == "cuda":
        kwargs["device_map"] = {"": 0}
    else:
        kwargs["device_map"] = "auto"
    if quantize:
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    logger.info("loading %s (quantize=%s)", base.path, quantize)
    return transformers.AutoModelForCausalLM.from_pretrained(str(base.folder), **kwargs)


def make_serializable(model: Any) -> None:
    """Forget that a model came from GGUF, so ``save_pretrained`` accepts it.

    transformers marks GGUF-loaded models as quantized ("quantized with gguf and is not
    serializable") although the weights are dequantised tensors.
    """
    model.hf_quantizer = None
    model.is_quantized = False
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
