"""Errors that carry a message meant for the user (the CLI prints it; the API returns it)."""


class LumenError(Exception):
    """A failure with a one-line explanation for the user."""


class InputError(LumenError):
    """The user's input (a question, a path, a file) is not acceptable."""


class ComponentError(LumenError):
    """A component (model, store, server) is missing, unreachable or failed."""


class MissingExtraError(ComponentError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"the package '{package}' is not installed: install Lumen's '{extra}' extra "
            f"(pip install 'lumen[{extra}]')"
        )


class NotFoundError(LumenError):
    """The object does not exist, or belongs to someone else (the two look the same)."""


class AuthenticationError(LumenError):
    """The caller is not signed in, or the credentials are wrong."""


class PermissionDeniedError(LumenError):
    """The caller is signed in but their role does not allow this."""


class ConflictError(LumenError):
    """The request clashes with what is stored (an e-mail address already in use)."""


class RateLimitedError(LumenError):
    """Too many requests; retry after the given number of seconds."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class FieldError(InputError):
    """A request field holds an unacceptable value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnavailableError(ComponentError):
    """A part is unavailable for now (an outage, a full queue); retry after some seconds."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class IndexUnavailable(ComponentError):
    """The vector index cannot be opened now: another process holds it, or it is unreachable."""

    retry_after_s = 5


class JobBackendUnavailable(ComponentError):
    """The job queue (the Celery broker) cannot take a job now."""

    retry_after_s = 5
