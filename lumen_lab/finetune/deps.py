"""Lazy imports of the ``finetune`` extra, failing with a message that names the extra."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from lumen.errors import MissingExtraError

_PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "peft": "peft",
    "trl": "trl",
    "datasets": "datasets",
    "accelerate": "accelerate",
    "gguf": "gguf",
    "bitsandbytes": "bitsandbytes",
    "llama_cpp": "llama-cpp-python",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise MissingExtraError naming the ``finetune`` extra."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = _PACKAGES.get(module.split(".")[0], module)
        raise MissingExtraError(package, "finetune") from exc


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without raising)."""
    try:
        importlib.import_module(module)
    except Exception:  # a broken optional package counts as absent
        return False
    return True
