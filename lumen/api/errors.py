"""One JSON error shape for every failure; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lumen.api.schemas import ErrorResponse
from lumen.components.kv.base import KVUnavailable
from lumen.errors import (
    AuthenticationError,
    ComponentError,
    ConflictError,
    FieldError,
    IndexUnavailable,
    InputError,
    JobBackendUnavailable,
    LumenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from lumen.services.conversations import AnswerUnavailableError, QuestionIndexUnavailable

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}

# Documented on every API route: all of them answer errors with ErrorResponse.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "Not signed in, or the session ended"),
        (403, "The role or the CSRF token does not allow it"),
        (404, "No such object (or it belongs to someone else)"),
        (422, "The request is not valid; `fields` names what is wrong"),
        (429, "Too many requests; retry after `Retry-After` seconds"),
        (503, "A part Lumen depends on is unavailable"),
    )
}


def error_response(
    status: int,
    message: str,
    *,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """The error body ``{"error": {status, code, message, fields}}``."""
    body: dict[str, Any] = {
        "status": status,
        "code": _CODES.get(status, "error"),
        "message": message,
        "fields": fields or [],
    }
    if extra:
        body.update(extra)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_for(exc: LumenError) -> int:
    """The HTTP status of a Lumen error."""
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, RateLimitedError):
        return 429
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, AnswerUnavailableError):
        return 504 if exc.timed_out else 503
    if isinstance(exc, ComponentError):
        return 503
    return 400


def lumen_error_response(exc: LumenError) -> JSONResponse:
    """A Lumen error as a response; its message is written for users."""
    status = status_for(exc)
    headers = None
    fields = None
    extra: dict[str, Any] | None = None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, IndexUnavailable | JobBackendUnavailable):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, FieldError):
        fields = [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, AnswerUnavailableError | QuestionIndexUnavailable):
        extra = {"message_id": exc.message_id}
    message = str(exc)
    if isinstance(exc, KVUnavailable):
        message = "sign-in and sessions are unavailable right now; try again shortly"
    elif isinstance(exc, IndexUnavailable):
        logger.error("the search index is unavailable (%s)", type(exc).__name__)
        if not isinstance(exc, QuestionIndexUnavailable):
            message = "the search index is unavailable right now (in use or unreachable); try again"
        extra = {**(extra or {}), "code": "index_unavailable"}
    elif isinstance(exc, JobBackendUnavailable):
        logger.error("the job queue is unavailable")
        message = "the job queue is unavailable right now; try again shortly"
        extra = {**(extra or {}), "code": "jobs_unavailable"}
    elif isinstance(exc, ComponentError) and not isinstance(exc, AnswerUnavailableError):
        logger.error("component failure: %s", type(exc).__name__)
        message = "a part of Lumen is unavailable right now; try again shortly"
    return error_response(status, message, fields=fields, headers=headers, extra=extra)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return error_response(422, "the request is not valid", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(LumenError)
    async def _lumen(_request: Request, exc: LumenError) -> JSONResponse:
        return lumen_error_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The type only: exception messages may quote stored data.
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_response(500, "something went wrong on Lumen's side; try again")
