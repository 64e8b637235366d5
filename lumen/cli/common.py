"""What every command shares: settings, the console, and turning errors into one line."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from lumen.errors import IndexUnavailable, InputError, LumenError
from lumen.settings import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def get_settings(**overrides: Any) -> Settings:
    """Settings from the environment and file, with command-line overrides."""
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise fail(f"invalid setting {where}: {first['msg']}", 2) from None
    except ValueError as exc:
        raise fail(str(exc), 2) from None


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Lumen's errors into a one-line message and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            raise fail(str(exc), 2) from None
        except IndexUnavailable as exc:
            raise fail(
                f"{exc}: stop the process that holds it, or run 'lumen serve' on this data "
                "directory (the CLI then goes through it)",
                1,
            ) from None
        except LumenError as exc:
            raise fail(str(exc), 1) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper


def configure_logging(verbose: int) -> None:
    """Warnings by default; -v info, -vv debug. Logs go to stderr."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "urllib3", "onnxruntime"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # Patient data never reaches the logs in clear text: every handler masks identifiers.
    from lumen.observability.logs import redact_all_handlers
    from lumen.safety.redact import add_redacting_filter

    add_redacting_filter()
    redact_all_handlers()  # loggers that do not propagate have handlers of their own


def index_settings(settings: Settings) -> Settings:
    """Settings that reach the embedded index through ``lumen serve`` while it holds it.

    Without a running server on this data directory, ``settings`` as they are.
    """
    if settings.vector_store.backend not in ("edge", "local"):
        return settings
    from pydantic import SecretStr

    from lumen.services.index_proxy import read_registry

    running = read_registry(settings.paths.data_dir)
    if running is None:
        return settings
    err_console.print(
        f"[dim]the index is held by 'lumen serve' (pid {running['pid']}): using it through "
        f"{running['url']}[/]",
        highlight=False,
    )
    store = settings.vector_store.model_copy(
        update={
            "backend": "remote",
            "remote_url": str(running["url"]),
            "remote_token": SecretStr(str(running["token"])),
            "remote_verify_tls": not running.get("tls", False),
        }
    )
    return settings.model_copy(update={"vector_store": store})
