"""One JSON error shape for every failure; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from lumen.api.schemas import ErrorResponse
from lumen.components.kv.base import KVUnavailable
from lumen.errors import (
    AuthenticationError,
    ComponentError,
    ConflictError,
    FieldError,
    InputError,
    LumenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)
from lumen.services.conversations import AnswerUnavailableError

logger = logging.getLogger(__name__)

OUTAGE_RETRY_AFTER_S = 5

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
        (400, "The body could not be read (not UTF-8, not JSON)"),
        (401, "Not signed in, or the session ended"),
        (403, "The role or the CSRF token does not allow it"),
        (404, "No such object (or it belongs to someone else)"),
        (413, "The request body is too large"),
        (422, "The request is not valid; `fields` names what is wrong"),
        (429, "Too many requests; retry after `Retry-After` seconds"),
        (503, "A part Lumen depends on is unavailable; retry after `Retry-After` seconds"),
    )
}


def documented(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """Extra error responses of one operation (409, 504, ...) for its OpenAPI entry."""
    defaults = {409: "It clashes with what is stored", 504: "The model took too long"}
    return {
        status: {
            "model": ErrorResponse,
            "description": descriptions.get(f"d{status}", defaults.get(status, "Error")),
        }
        for status in statuses
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
    if isinstance(exc, RateLimitedError | UnavailableError):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, AnswerUnavailableError) and exc.retry_after_s is not None:
        headers = {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, FieldError):
        fields = [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, AnswerUnavailableError):
        extra = {"message_id": exc.message_id}
    if status == 503 and headers is None:
        headers = {"Retry-After": str(OUTAGE_RETRY_AFTER_S)}
    message = str(exc)
    if isinstance(exc, KVUnavailable):
        message = "sign-in and sessions are unavailable right now; try again shortly"
    elif isinstance(exc, ComponentError) and not isinstance(
        exc, AnswerUnavailableError | UnavailableError
    ):
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

    from sqlalchemy.exc import SQLAlchemyError

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return database_error_response(exc, request_id(request.scope))


def request_id(scope: Scope) -> str:
    """The id :class:`~lumen.api.middleware.CatchAll` gave this request ("-" outside it)."""
    return str(scope.get("state", {}).get("request_id", "-"))


def database_error_response(exc: Exception, rid: str) -> JSONResponse:
    """A database outage (unreachable, pool exhausted, connection lost) is a 503; else 500."""
    from lumen.db.session import RETRY_AFTER_S, is_outage

    if is_outage(exc):
        logger.error("database unavailable: %s (request %s)", type(exc).__name__, rid)
        return error_response(
            503,
            "the database is unavailable right now; nothing was saved, try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return internal_error_response(exc, rid)


def internal_error_response(exc: BaseException, rid: str) -> JSONResponse:
    """A 500 whose log line names only the exception type and the request id."""
    # The type only: messages and tracebacks may quote stored data or SQL parameters.
    logger.error("unhandled %s (request %s)", type(exc).__name__, rid)
    return error_response(
        500,
        "something went wrong on Lumen's side; try again",
        extra={"request_id": rid},
    )
