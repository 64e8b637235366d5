"""``lumen index serve``: one process holds the embedded index and serves it to the others."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lumen.api.errors import install_error_handlers
from lumen.api.middleware import BodySizeLimit, CallerCheck, CheckBeforeBody
from lumen.api.routes import index_proxy
from lumen.components.vector_store.base import VectorStore


def create_index_app(store: VectorStore, *, token: str, loopback_only: bool) -> FastAPI:
    """An app that answers only ``/internal/index/{call}`` on ``store``."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="Lumen index", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.index_token = token
    app.state.index_loopback_only = loopback_only
    app.state.index_store = lambda: store
    install_error_handlers(app)
    app.include_router(index_proxy.router)
    checks: list[tuple[re.Pattern[str], CallerCheck]] = [
        (index_proxy.INDEX_PATH, index_proxy.check_index_caller)
    ]
    app.add_middleware(CheckBeforeBody, checks=checks)  # the token before the body
    app.add_middleware(BodySizeLimit, max_bytes=index_proxy.INDEX_CALL_MAX_BYTES)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
