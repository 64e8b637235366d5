"""A small registry of fine-tuned GGUF models (``<data_dir>/models.json``) for ``--model``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lumen.errors import InputError
from lumen.settings import Settings

REGISTRY_FILE = "models.json"


def registry_path(settings: Settings) -> Path:
    """Where the registry lives: ``<paths.data_dir>/models.json``."""
    return settings.paths.data_dir / REGISTRY_FILE


def load_registry(path: Path) -> dict[str, dict[str, Any]]:
    """The registered models by name (empty when there is no registry yet)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"model registry {path} is unreadable: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise InputError(f"model registry {path} has no 'models' object")
    return models


def register_model(path: Path, name: str, gguf: Path, **details: Any) -> dict[str, Any]:
    """Add or replace ``name`` (pointing at ``gguf``), written atomically."""
    if not gguf.is_file():
        raise InputError(f"cannot register {name!r}: {gguf} does not exist")
    models = load_registry(path)
    entry = {
        "gguf": str(gguf.resolve()),
        "registered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }
    models[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"models": models}, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return entry


def update_model(path: Path, name: str, **details: Any) -> dict[str, Any]:
    """Add ``details`` to the registered model ``name`` (written atomically)."""
    models = load_registry(path)
    if name not in models:
        raise InputError(f"cannot update {name!r}: it is not registered in {path}")
    models[name] = {**models[name], **details}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"models": models}, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return models[name]


def resolve_model(path: Path, name: str) -> dict[str, Any]:
    """The entry registered as ``name``; InputError listing the known names otherwise."""
    models = load_registry(path)
    entry = models.get(name)
    if entry is None:
        known = ", ".join(sorted(models)) or "none yet (run 'lumen finetune export')"
        raise InputError(f"unknown model {name!r}: registered models are {known}")
    gguf = Path(str(entry.get("gguf", "")))
    if not gguf.is_file():
        raise InputError(f"model {name!r} is registered but its file is missing: {gguf}")
    return entry


def with_registered_model(settings: Settings, name: str) -> Settings:
    """Settings whose LLM is the registered model ``name`` in llama.cpp, with its calibration.

    The retrieval's ``neighbours`` is the one the model was evaluated with, where registered.
    """
    entry = resolve_model(registry_path(settings), name)
    offsets = entry.get("verdict_offsets") or {}
    if not isinstance(offsets, dict) or not all(
        isinstance(v, int | float) for v in offsets.values()
    ):
        raise InputError(f"model {name!r}: 'verdict_offsets' must map words to numbers")
    verdict_first = entry.get("verdict_first", False)
    if not isinstance(verdict_first, bool):
        raise InputError(f"model {name!r}: 'verdict_first' must be true or false")
    neighbours = entry.get("neighbours", settings.retrieval.neighbours)
    if not isinstance(neighbours, int) or isinstance(neighbours, bool) or neighbours < 0:
        raise InputError(f"model {name!r}: 'neighbours' must be a whole number, 0 or more")
    update = {
        "backend": "llama_cpp",
        "model_path": Path(str(entry["gguf"])),
        "verdict_offsets": {str(k): float(v) for k, v in offsets.items()},
        "verdict_first": verdict_first,
    }
    retrieval = settings.retrieval.model_copy(update={"neighbours": neighbours})
    return settings.model_copy(
        update={"llm": settings.llm.model_copy(update=update), "retrieval": retrieval}
    )
