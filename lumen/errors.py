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
