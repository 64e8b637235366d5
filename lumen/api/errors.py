"""One JSON error shape for every failure; no stack trace ever reaches a client."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from lumen.api.openai_schemas import OpenAIErrorResponse
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
    UnavailableError,
)
from lumen.services.conversations import AnswerUnavailableError, QuestionIndexUnavailable
from lumen.services.openai_api import ModelNotFoundError, UnsupportedParameterError

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

# The same statuses under /v1, in OpenAI's error shape (invalid input is a 400 there).
OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorResponse, "description": description}
    for status, description in (
        (400, "The request is not valid, or asks for something Lumen does not support"),
        (401, "No API key or session, or it ended"),
        (403, "The role does not allow it"),
        (404, "No such model (or the role may not use it)"),
        (413, "The request body is too large"),
        (429, "Too many requests; retry after `Retry-After` seconds"),
        (503, "A part Lumen depends on is unavailable; retry after `Retry-After` seconds"),
        (504, "The language model took too long"),
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


class ErrorJSONResponse(JSONResponse):
    """JSON that renders whatever a client sent into a message: a lone surrogate becomes "?"."""

    def render(self, content: Any) -> bytes:
        """The body; never an encoding error on the way out."""
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", errors="replace")


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
    return ErrorJSONResponse({"error": body}, status_code=status, headers=headers)


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


def user_message(exc: LumenError) -> str:
    """What a client is told about a Lumen error (component details stay in the log)."""
    if isinstance(exc, KVUnavailable):
        return "sign-in and sessions are unavailable right now; try again shortly"
    if isinstance(exc, IndexUnavailable):
        logger.error("the search index is unavailable (%s)", type(exc).__name__)
        if isinstance(exc, QuestionIndexUnavailable):
            return str(exc)
        return "the search index is unavailable right now (in use or unreachable); try again"
    if isinstance(exc, JobBackendUnavailable):
        logger.error("the job queue is unavailable")
        return "the job queue is unavailable right now; try again shortly"
    if isinstance(exc, ComponentError) and not isinstance(
        exc, AnswerUnavailableError | UnavailableError
    ):
        logger.error("component failure: %s", type(exc).__name__)
        return "a part of Lumen is unavailable right now; try again shortly"
    return str(exc)


def _retry_headers(exc: LumenError) -> dict[str, str] | None:
    """``Retry-After`` for limits and outages: the error's own wait, else the outage default."""
    if isinstance(exc, RateLimitedError | UnavailableError):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, IndexUnavailable | JobBackendUnavailable):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, AnswerUnavailableError) and exc.retry_after_s is not None:
        return {"Retry-After": str(exc.retry_after_s)}
    if status_for(exc) == 503:
        return {"Retry-After": str(OUTAGE_RETRY_AFTER_S)}
    return None


def lumen_error_response(exc: LumenError) -> JSONResponse:
    """A Lumen error as a response; its message is written for users."""
    fields = None
    extra: dict[str, Any] | None = None
    if isinstance(exc, FieldError):
        fields = [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, AnswerUnavailableError | QuestionIndexUnavailable):
        extra = {"message_id": exc.message_id}
    code = _error_code(exc)
    if code is not None:
        extra = {**(extra or {}), "code": code}
    return error_response(
        status_for(exc), user_message(exc), fields=fields, headers=_retry_headers(exc), extra=extra
    )


def _error_code(exc: LumenError) -> str | None:
    """A machine-readable code for the outages a client may want to tell apart."""
    if isinstance(exc, IndexUnavailable):
        return "index_unavailable"
    if isinstance(exc, JobBackendUnavailable):
        return "jobs_unavailable"
    return None


# The OpenAI-compatible API (/v1) answers errors in OpenAI's shape, which its SDKs read.
OPENAI_PREFIX = "/v1"
_OPENAI_TYPES = {
    401: "invalid_request_error",
    403: "permission_error",
    429: "rate_limit_error",
}
_OPENAI_CODES = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}


def is_openai_path(path: str) -> bool:
    """Whether a request path belongs to the OpenAI-compatible API."""
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def openai_error_body(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    exc: LumenError | None = None,
) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}``, from a Lumen error when there is one."""
    if isinstance(exc, FieldError):
        param = param or exc.field
    if isinstance(exc, UnsupportedParameterError):
        code = code or "unsupported_parameter"
    elif isinstance(exc, ModelNotFoundError):
        param, code = param or "model", code or "model_not_found"
    kind = "server_error" if status >= 500 else _OPENAI_TYPES.get(status, "invalid_request_error")
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code or _OPENAI_CODES.get(status),
        }
    }


def openai_error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    exc: LumenError | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An OpenAI-style error; invalid input is a 400 there, as OpenAI answers it."""
    status = 400 if status == 422 else status
    body = openai_error_body(status, message, param=param, code=code, exc=exc)
    return ErrorJSONResponse(body, status_code=status, headers=headers)


def _openai_param(loc: tuple[Any, ...]) -> str:
    """A pydantic location as OpenAI names parameters: ``messages[0].content``."""
    name = ""
    for part in loc:
        if part in ("body", "query", "path", "header", "cookie") or _union_tag(part):
            continue
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _union_tag(part: object) -> bool:
    """Pydantic names the member of a union that failed (``list[str]``, ``str``)."""
    return isinstance(part, str) and ("[" in part or part in _TYPE_NAMES)


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _openai_validation(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    param = _openai_param(loc) or None
    kind = first.get("type")
    if kind == "json_invalid":
        return openai_error_response(400, "the request body is not valid JSON")
    if kind == "extra_forbidden":
        return openai_error_response(
            400, f"Unrecognized request argument supplied: {param}", param=param
        )
    if kind == "missing":
        return openai_error_response(400, f"Missing required parameter: '{param}'", param=param)
    message = f"Invalid value for '{param}': {first.get('msg', 'not valid')}"
    return openai_error_response(400, message, param=param, code="invalid_value")


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape (OpenAI's under /v1)."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if is_openai_path(request.url.path):
            return _openai_validation(exc)
        fields = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return error_response(422, "the request is not valid", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = getattr(exc, "headers", None)
        if is_openai_path(request.url.path):
            return openai_error_response(exc.status_code, message, headers=headers)
        return error_response(exc.status_code, message, headers=headers)

    @app.exception_handler(LumenError)
    async def _lumen(request: Request, exc: LumenError) -> JSONResponse:
        if is_openai_path(request.url.path):
            return openai_error_response(
                status_for(exc), user_message(exc), exc=exc, headers=_retry_headers(exc)
            )
        return lumen_error_response(exc)

    from sqlalchemy.exc import SQLAlchemyError

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return database_error_response(exc, request_id(request.scope), path=request.url.path)


def request_id(scope: Scope) -> str:
    """The id :class:`~lumen.api.middleware.CatchAll` gave this request ("-" outside it)."""
    return str(scope.get("state", {}).get("request_id", "-"))


def database_error_response(exc: Exception, rid: str, *, path: str = "") -> JSONResponse:
    """A database outage (unreachable, pool exhausted, connection lost) is a 503; else 500."""
    from lumen.db.session import RETRY_AFTER_S, is_outage

    if is_outage(exc):
        logger.error("database unavailable: %s (request %s)", type(exc).__name__, rid)
        return _server_error(
            503,
            "the database is unavailable right now; nothing was saved, try again shortly",
            path=path,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return internal_error_response(exc, rid, path=path)


def internal_error_response(exc: BaseException, rid: str, *, path: str = "") -> JSONResponse:
    """A 500 whose log line names only the exception type and the request id."""
    # The type only: messages and tracebacks may quote stored data or SQL parameters.
    logger.error("unhandled %s (request %s)", type(exc).__name__, rid)
    return _server_error(
        500, "something went wrong on Lumen's side; try again", path=path, request_id=rid
    )


def _server_error(
    status: int,
    message: str,
    *,
    path: str,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """A 5xx in Lumen's shape, or in OpenAI's under /v1 (its SDKs read no other)."""
    if is_openai_path(path):
        if request_id is not None:
            message = f"{message} (request {request_id})"
        return openai_error_response(status, message, headers=headers)
    extra = {"request_id": request_id} if request_id is not None else None
    return error_response(status, message, headers=headers, extra=extra)
