"""What a service process (``lumen serve``, a worker) sets up once: logs, error reporting."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lumen.errors import InputError

if TYPE_CHECKING:
    from lumen.settings import Settings


def setup_process_observability(settings: Settings) -> None:
    """Configure logging (text or JSON, redacted) and, when a DSN is set, Sentry."""
    from lumen.observability.logs import configure_service_logging
    from lumen.observability.sentry import init_sentry

    configure_service_logging(settings.logging)
    init_sentry(settings.observability)


def certificate_expiry(path: Path) -> float:
    """When the PEM certificate at ``path`` expires (Unix time)."""
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the certificate {path}: {exc}") from exc
    return certificate.not_valid_after_utc.timestamp()
