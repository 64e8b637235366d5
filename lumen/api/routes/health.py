"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lumen.api.deps import ServicesDep
from lumen.api.schemas import Health
from lumen.services.container import Services

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


def readiness_checks(services: Services) -> dict[str, bool]:
    """Whether the database, the KV store, the vector store and the LLM answer."""
    checks = {"database": services.database.ping()}
    try:
        checks["kv"] = services.kv.ping()
    except Exception:
        checks["kv"] = False
    try:
        services.lumen.store.collections()
        checks["vector_store"] = True
    except Exception as exc:
        logger.warning("vector store not ready: %s", type(exc).__name__)
        checks["vector_store"] = False
    try:
        llm = services.lumen.pipeline.llm
        ping = getattr(llm, "ping", None)  # servers answer a ping; in-process models loaded
        checks["llm"] = bool(ping()) if callable(ping) else llm.count_tokens("ready") > 0
    except Exception as exc:
        logger.warning("LLM not ready: %s", type(exc).__name__)
        checks["llm"] = False
    return checks


@router.get("/readyz", responses={503: {"model": Health}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when every dependency answers; 503 names the ones that do not."""
    checks = await run_in_threadpool(readiness_checks, services)
    ok = all(checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition."""
    payload, content_type = services.metrics.render()
    return Response(payload, media_type=content_type)
