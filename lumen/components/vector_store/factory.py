"""Open the vector store the settings ask for, importing only the engine it needs."""

from __future__ import annotations

from pathlib import Path

from lumen.components.vector_store.base import VectorStore
from lumen.errors import MissingExtraError
from lumen.settings import VectorStoreSettings


def open_vector_store(settings: VectorStoreSettings, data_dir: Path) -> VectorStore:
    """The store for ``settings.backend``.

    Backends: "edge" (qdrant-edge-py, shards under ``data_dir/qdrant``), "server" (a Qdrant
    server through qdrant-client) and "local" (qdrant-client's local mode under
    ``data_dir/qdrant-local``).

    Raises:
        MissingExtraError: the backend's package is not installed.
        ComponentError: the store cannot be opened (for example, the server is unreachable).

    """
    if settings.backend == "edge":
        try:
            from lumen.components.vector_store.qdrant_edge import EdgeVectorStore
        except ImportError as exc:
            if exc.name is not None and not exc.name.startswith("qdrant_edge"):
                raise
            raise MissingExtraError("qdrant-edge-py", "embedded") from exc
        return EdgeVectorStore(data_dir / "qdrant", exact_search_below=settings.exact_search_below)

    if settings.backend == "remote":
        from lumen.components.vector_store.remote import RemoteVectorStore
        from lumen.errors import ComponentError

        if settings.remote_token is None:
            raise ComponentError(
                "vector_store.backend=remote needs vector_store.remote_token "
                "(LUMEN_VECTOR_STORE__REMOTE_TOKEN), the token of `lumen index serve`"
            )
        return RemoteVectorStore(
            settings.remote_url,
            settings.remote_token.get_secret_value(),
            timeout_s=max(settings.timeout_s, 60.0),
            verify=settings.remote_verify_tls,
        )

    from lumen.components.vector_store.qdrant_server import open_client_store

    return open_client_store(settings, data_dir)
