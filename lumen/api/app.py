"""The FastAPI application factory: nothing is created at import time."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI

from lumen import __version__
from lumen.api.deps import limit_by_ip
from lumen.api.errors import (
    ERROR_RESPONSES,
    OPENAI_ERROR_RESPONSES,
    OPENAI_PREFIX,
    install_error_handlers,
)
from lumen.api.middleware import (
    BodySizeLimit,
    CallerCheck,
    CatchAll,
    CheckBeforeBody,
    RequestId,
    RequestMetrics,
    SecurityHeaders,
)
from lumen.api.routes import (
    account,
    admin,
    api_keys,
    auth,
    conversations,
    health,
    index_proxy,
    openai,
    profiles,
    uploads,
)
from lumen.services.container import Services
from lumen.settings import Settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
REPO_WEB_DIR = Path(__file__).resolve().parents[2] / "web" / "out"


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    index_token: str | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the app for ``settings`` (or around ready-made ``services``, as tests do).

    With ``index_token``, other local processes reach this process's index at
    ``/internal/index`` (the CLI beside ``lumen serve``); ``on_shutdown`` runs as the app stops.
    """
    if services is None:
        from lumen.factory import build_services
        from lumen.settings import load_settings

        services = build_services(settings or load_settings())
    settings = services.settings
    owned = services

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if owned.jobs is not None:
            owned.jobs.resume()  # jobs a previous run left unfinished
        yield
        if on_shutdown is not None:
            on_shutdown()
        owned.close()

    app = FastAPI(
        title="Lumen",
        version=__version__,
        summary="A medical assistant whose answers are grounded in verified citations.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)

    api = APIRouter(
        prefix=API_PREFIX, dependencies=[Depends(limit_by_ip)], responses=ERROR_RESPONSES
    )
    for module in (auth, account, api_keys, profiles, conversations, admin, uploads):
        api.include_router(module.router)
    app.include_router(api)
    # The OpenAI-compatible API, beside Lumen's own (its errors take OpenAI's shape).
    app.include_router(
        openai.router,
        prefix=OPENAI_PREFIX,
        dependencies=[Depends(limit_by_ip)],
        responses=OPENAI_ERROR_RESPONSES,
    )
    app.include_router(health.router)
    if index_token:
        app.state.index_token = index_token
        app.state.index_loopback_only = True
        app.state.index_store = lambda: services.lumen.store
        app.include_router(index_proxy.router)

    upload_path = re.compile(rf"^{API_PREFIX}/collections/(?P<name>[^/]+)/uploads$")
    checks: list[tuple[re.Pattern[str], CallerCheck]] = [(upload_path, uploads.check_uploader)]
    if index_token:
        checks.append((index_proxy.INDEX_PATH, index_proxy.check_index_caller))
    app.add_middleware(CheckBeforeBody, checks=checks)  # inside CORS: its refusals get CORS headers
    if settings.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        RequestMetrics,
        metrics=services.metrics,
        route_templates=lambda: [*app.openapi()["paths"], "/metrics"],
    )
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders, hsts=settings.auth.cookie_secure)
    uploads_max = settings.uploads.max_files * settings.uploads.max_file_bytes + 65_536
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.api.max_body_bytes,
        larger=[
            (upload_path, uploads_max),
            (index_proxy.INDEX_PATH, index_proxy.INDEX_CALL_MAX_BYTES),
        ],
    )
    app.add_middleware(RequestId)  # outermost: every log line of the request carries its id

    web_dir = settings.api.web_dir or REPO_WEB_DIR
    if web_dir.is_dir():
        from lumen.api.web import mount_web_app

        mount_web_app(app, web_dir)
    return app


def create_app_from_env() -> FastAPI:
    """The app from the environment's settings.

    Each process of ``lumen serve --workers N`` (or of ``gunicorn -k
    uvicorn.workers.UvicornWorker``) builds it.
    """
    import os

    from lumen.factory import build_services, check_multi_process
    from lumen.settings import load_settings

    settings = load_settings()
    model = os.environ.get("LUMEN_SERVE_MODEL")
    if model:
        from lumen.components.llm.registry import with_registered_model

        settings = with_registered_model(settings, model)
    check_multi_process(settings, int(os.environ.get("LUMEN_SERVE_WORKERS", "2")))
    from lumen.observability.logs import redact_all_handlers
    from lumen.observability.setup import setup_process_observability

    setup_process_observability(settings)  # this worker's logs: redacted, with request ids
    app = create_app(services=build_services(settings))
    redact_all_handlers()
    return app
