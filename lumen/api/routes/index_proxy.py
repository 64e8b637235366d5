"""``/internal/index/{call}``: the index this process holds, for other Lumen processes."""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool

from lumen.components.vector_store.base import VectorStore
from lumen.errors import AuthenticationError, PermissionDeniedError
from lumen.services.index_proxy import call_store

router = APIRouter(prefix="/internal/index", include_in_schema=False)

INDEX_PATH = re.compile(r"^/internal/index/")
INDEX_CALL_MAX_BYTES = 256_000_000
"""The largest call body (an upsert of a batch of chunks with their vectors)."""


def check_index_token(request: Request) -> None:
    """The bearer token must be the index token; loopback callers only when so configured."""
    expected: str | None = getattr(request.app.state, "index_token", None)
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise AuthenticationError("a valid index token is required")
    if getattr(request.app.state, "index_loopback_only", True):
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host in ("localhost", "testclient")
        if not loopback:
            raise PermissionDeniedError("the index endpoint answers local processes only")


IndexToken = Annotated[None, Depends(check_index_token)]


async def check_index_caller(request: Request, match: re.Match[str]) -> None:
    """The same check before the body is read (``CheckBeforeBody``): calls may be large."""
    check_index_token(request)


def get_index_store(request: Request) -> VectorStore:
    """The store this process holds (opened on first use)."""
    store: VectorStore = request.app.state.index_store()
    return store


@router.post("/{call}")
async def index_call(
    call: str, _token: IndexToken, body: Annotated[dict[str, Any], Body()], request: Request
) -> dict[str, Any]:
    """One vector-store call on the index this process holds."""
    store = await run_in_threadpool(get_index_store, request)
    result = await run_in_threadpool(call_store, store, name=call, body=body)
    return {"result": result}
