"""The index this process holds, for other processes (the CLI, API replicas, job workers).

See :mod:`lumen.components.vector_store.remote`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.vector_store.base import (
    SparseVector,
    VectorStore,
    chunk_from_payload,
    chunk_payload,
)
from lumen.components.vector_store.remote import filter_from_json, scored_to_json
from lumen.errors import InputError

REGISTRY_FILE = "serve.json"


def _sparse(data: dict[str, Any]) -> SparseVector:
    return SparseVector([int(i) for i in data["indices"]], [float(v) for v in data["values"]])


_CALLS: dict[str, Callable[[VectorStore, dict[str, Any]], Any]] = {
    "ensure_collection": lambda s, b: s.ensure_collection(b["collection"], int(b["dim"])),
    "upsert": lambda s, b: s.upsert(
        b["collection"],
        [chunk_from_payload(c) for c in b["chunks"]],
        np.asarray(b["dense"], dtype=np.float32).reshape(len(b["chunks"]), -1),
        [_sparse(v) for v in b["sparse"]],
    ),
    "delete": lambda s, b: s.delete(
        b["collection"], doc_ids=list(b.get("doc_ids") or ()), source=b.get("source")
    ),
    "search_dense": lambda s, b: scored_to_json(
        s.search_dense(
            b["collection"],
            np.asarray(b["vector"], dtype=np.float32),
            int(b["limit"]),
            filter_from_json(b.get("where")),
        )
    ),
    "search_sparse": lambda s, b: scored_to_json(
        s.search_sparse(
            b["collection"], _sparse(b["vector"]), int(b["limit"]), filter_from_json(b.get("where"))
        )
    ),
    "documents": lambda s, b: [asdict(d) for d in s.documents(b["collection"], b.get("source"))],
    "document_chunks": lambda s, b: [
        chunk_payload(c) for c in s.document_chunks(b["collection"], b["doc_id"])
    ],
    "stats": lambda s, b: asdict(s.stats(b["collection"])),
    "collections": lambda s, b: s.collections(),
    "get_metadata": lambda s, b: s.get_metadata(b["key"]),
    "set_metadata": lambda s, b: s.set_metadata(b["key"], b.get("value")),
}


def call_store(store: VectorStore, *, name: str, body: dict[str, Any]) -> Any:
    """Run one store call named ``name`` with the JSON ``body``; returns its JSON result.

    Raises:
        InputError: no such call, or its arguments are malformed.
        ComponentError: the store failed (IndexUnavailable when it cannot be opened).

    """
    call = _CALLS.get(name)
    if call is None:
        raise InputError(f"no index call named {name!r}")
    try:
        return call(store, body)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed arguments for the index call {name!r}") from exc


def new_token() -> str:
    """A random bearer token for the index endpoint."""
    return secrets.token_urlsafe(32)


def write_registry(data_dir: Path, *, url: str, token: str, tls: bool) -> Path:
    """Record the running server (URL, token, pid) in ``<data_dir>/run/serve.json``, mode 0600."""
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = run_dir / REGISTRY_FILE
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"url": url, "token": token, "pid": os.getpid(), "tls": tls}, handle)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def read_registry(data_dir: Path) -> dict[str, Any] | None:
    """The running server recorded for ``data_dir``, if its process is alive."""
    path = data_dir / "run" / REGISTRY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pid = int(data["pid"])
        str(data["url"]), str(data["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return dict(data)


def remove_registry(data_dir: Path) -> None:
    """Forget the running server (on shutdown), if this process wrote the record."""
    path = data_dir / "run" / REGISTRY_FILE
    data = read_registry(data_dir)
    if data is not None and int(data["pid"]) == os.getpid():
        path.unlink(missing_ok=True)
