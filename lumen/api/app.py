"""The FastAPI application factory: nothing is created at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI

from lumen import __version__
from lumen.api.deps import limit_by_ip
from lumen.api.errors import ERROR_RESPONSES, install_error_handlers
from lumen.api.middleware import BodySizeLimit, RequestId, RequestMetrics, SecurityHeaders
from lumen.api.routes import account, admin, auth, conversations, health, profiles
from lumen.services.container import Services
from lumen.settings import Settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
REPO_WEB_DIR = Path(__file__).resolve().parents[2] / "web" / "out"


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the app for ``settings`` (or around ready-made ``services``, as tests do)."""
    if services is None:
        from lumen.factory import build_services
        from lumen.settings import load_settings

        services = build_services(settings or load_settings())
    settings = services.settings
    owned = services

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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
    for module in (auth, account, profiles, conversations, admin):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)

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
    app.add_middleware(SecurityHeaders, hsts=settings.auth.cookie_secure)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(RequestId)  # outermost: every log line of the request carries its id

    web_dir = settings.api.web_dir or REPO_WEB_DIR
    if web_dir.is_dir():
        from lumen.api.web import mount_web_app

        mount_web_app(app, web_dir)
    return app
