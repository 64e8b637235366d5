"""Service commands: ``serve``, ``users``, ``audit``, ``keys``, ``retention``, ``db``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lumen.cli.common import console, fail, get_settings, handle_errors
from lumen.errors import ComponentError

if TYPE_CHECKING:
    from lumen.services.container import Services

users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the encryption keys of patient data.", no_args_is_help=True)
retention_app = typer.Typer(help="Apply the retention policy.", no_args_is_help=True)
db_app = typer.Typer(help="The relational database.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the service commands to the main CLI."""
    app.command()(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
    app.add_typer(retention_app, name="retention")
    app.add_typer(db_app, name="db")


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM); serves HTTPS.")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            help="Send the session cookie over plain HTTP (a LAN without TLS; not for production)."
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(help="A registered fine-tuned model (see 'lumen finetune export')."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="API processes; more than one needs shared parts (Redis, PostgreSQL, a Qdrant "
            "server or 'lumen index serve'): see docs/scale-out.md.",
        ),
    ] = 1,
) -> None:
    """Serve the API (and the web app when it is built) with uvicorn."""
    try:
        import uvicorn
    except ImportError:
        raise fail("uvicorn is not installed: install Lumen's 'service' extra") from None
    from lumen.api.app import create_app
    from lumen.factory import build_services, check_multi_process
    from lumen.observability.logs import redact_all_handlers
    from lumen.observability.setup import certificate_expiry, setup_process_observability

    overrides = {}
    if insecure_cookies:
        overrides["auth"] = {"cookie_secure": False}
    settings = get_settings(**overrides) if overrides else get_settings()
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("give both --ssl-certfile and --ssl-keyfile", 2)
    if model is not None:
        from lumen.components.llm.registry import with_registered_model

        settings = with_registered_model(settings, model)
    setup_process_observability(settings)
    scheme = "https" if ssl_certfile else "http"
    bind_host = host or settings.api.host
    bind_port = port or settings.api.port
    tls = {
        "ssl_certfile": str(ssl_certfile) if ssl_certfile else None,
        "ssl_keyfile": str(ssl_keyfile) if ssl_keyfile else None,
    }
    if workers > 1:
        check_multi_process(settings, workers)
        if insecure_cookies:
            os.environ["LUMEN_AUTH__COOKIE_SECURE"] = "false"
        if model is not None:
            os.environ["LUMEN_SERVE_MODEL"] = model
        os.environ["LUMEN_SERVE_WORKERS"] = str(workers)
        if settings.database.auto_migrate:  # once here, not racing in every worker
            from lumen.db.session import open_database

            open_database(settings.database_url(), migrate=True).dispose()
            os.environ["LUMEN_DATABASE__AUTO_MIGRATE"] = "false"
        console.print(
            f"Lumen on {scheme}://{bind_host}:{bind_port} with {workers} workers", highlight=False
        )
        uvicorn.run(
            "lumen.api.app:create_app_from_env",
            factory=True,
            workers=workers,
            host=bind_host,
            port=bind_port,
            log_level=settings.logging.level.lower(),
            log_config=None,  # each worker sets up Lumen's redacting handler
            access_log=False,
            proxy_headers=settings.api.trust_forwarded_for,
            **tls,  # type: ignore[arg-type]
        )
        return
    services = build_services(settings)
    if ssl_certfile is not None:
        services.metrics.set_certificate_expiry(certificate_expiry(ssl_certfile))
    index_token = None
    if settings.vector_store.backend in ("edge", "local"):
        from lumen.services.index_proxy import new_token, remove_registry, write_registry

        index_token = new_token()
        _hold_index(services)
    app = create_app(
        services=services,
        index_token=index_token,
        on_shutdown=(lambda: remove_registry(settings.paths.data_dir)) if index_token else None,
    )
    redact_all_handlers()  # e.g. SQLAlchemy's own handler with database.echo
    console.print(
        f"Lumen on {scheme}://{bind_host}:{bind_port} (API docs: /api/docs)", highlight=False
    )
    if index_token:
        wildcard = ("0.0.0.0", "::", "localhost")  # noqa: S104 - compared, not bound
        local_host = "127.0.0.1" if bind_host in wildcard else bind_host
        write_registry(
            settings.paths.data_dir,
            url=f"{scheme}://{local_host}:{bind_port}",
            token=index_token,
            tls=ssl_certfile is not None,
        )
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level=settings.logging.level.lower(),
        log_config=None,  # uvicorn's records go to Lumen's redacting handler
        access_log=False,
        proxy_headers=settings.api.trust_forwarded_for,
        **tls,  # type: ignore[arg-type]
    )


def _hold_index(services: Services) -> None:
    """Open the embedded index now, so that this server holds it.

    The CLI then goes through the server; an index held elsewhere is logged and retried on
    first use.
    """
    import logging

    from lumen.components.vector_store.base import SparseVector
    from lumen.errors import IndexUnavailable

    store = services.lumen.store
    try:
        for name in store.collections():
            store.search_sparse(name, SparseVector([0], [1.0]), 1)
    except IndexUnavailable as exc:
        logging.getLogger(__name__).error("the index is unavailable at start-up: %s", exc)
    except ComponentError as exc:
        logging.getLogger(__name__).warning("opening the index failed: %s", type(exc).__name__)


def _services_without_pipeline() -> Services:
    """Services for admin commands; the RAG parts stay unloaded (they load lazily)."""
    from lumen.factory import build_services

    return build_services(get_settings(), jobs_runner=False)


@users_app.command("create")
@handle_errors
def users_create(
    email: Annotated[str, typer.Argument(help="E-mail address.")],
    role: Annotated[str, typer.Option(help="patient, pharma or admin.")] = "patient",
    password_env: Annotated[
        str | None,
        typer.Option(help="Read the password from this environment variable (else prompt)."),
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option(help="A pharma user's organisation: they may upload into its collection."),
    ] = None,
) -> None:
    """Create an account, for instance the first admin."""
    from lumen.services import accounts

    if role not in accounts.ROLES:
        raise fail(f"unknown role {role!r}: use patient, pharma or admin", 2)
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise fail(f"the environment variable {password_env} is empty", 2)
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat: "):
            raise fail("the passwords differ", 2)
    services = _services_without_pipeline()
    try:
        with services.database.session() as db:
            user = accounts.create_user(
                services,
                db,
                email=email,
                password=password,
                role=role,  # type: ignore[arg-type]
            )
            if organisation:
                user.organisation = organisation.strip()[:64]
                db.commit()
            console.print(f"created {user.role} {user.email} ({user.id})", highlight=False)
    finally:
        services.close()


@audit_app.command("verify")
@handle_errors
def audit_verify(
    anchors: Annotated[
        Path | None,
        typer.Option(help="Anchor file ('lumen audit anchor'): the chain must still match each."),
    ] = None,
) -> None:
    """Recompute the audit chain; exit 1 if any row was changed, inserted or removed."""
    from lumen.services.audit import read_anchors

    kept = read_anchors(anchors) if anchors else []
    services = _services_without_pipeline()
    try:
        report = services.audit.verify(anchors=kept)
    finally:
        services.close()
    if report.ok:
        matched = f", {len(kept)} anchors match" if anchors else ""
        console.print(f"audit chain intact: {report.checked} rows{matched}", highlight=False)
        return
    raise fail(
        f"audit chain broken at row {report.first_bad_seq}: {report.reason} "
        f"({report.checked} rows verified before it)",
        1,
    )


@audit_app.command("anchor")
@handle_errors
def audit_anchor(
    file: Annotated[
        Path,
        typer.Option(
            help="Anchor file to append the chain head to; keep it (or a copy) where the "
            "database's writers cannot change it."
        ),
    ],
) -> None:
    """Check the audit chain, then append its head (row number and hash) to an anchor file.

    A broken chain, or one that no longer matches the file's earlier anchors, is not anchored.
    """
    from lumen.services.audit import append_anchor, read_anchors

    earlier = read_anchors(file) if file.exists() else []
    services = _services_without_pipeline()
    try:
        anchor = services.audit.head()
        report = services.audit.verify(anchors=[*earlier, anchor])
    finally:
        services.close()
    if not report.ok:
        raise fail(
            f"not anchored: the audit chain is broken at row {report.first_bad_seq}: "
            f"{report.reason}",
            1,
        )
    append_anchor(file, anchor)
    console.print(f"anchored row {anchor.seq} ({anchor.hash[:16]}...) in {file}", highlight=False)


@keys_app.command("rotate")
@handle_errors
def keys_rotate(
    retire: Annotated[
        bool, typer.Option(help="Remove the old keys from the key file afterwards.")
    ] = False,
) -> None:
    """Add a new key to the key file, make it active and re-encrypt everything under it."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from lumen.security.crypto import add_key, load_key_file, retire_keys
    from lumen.services.audit import Actor
    from lumen.services.keys import reencrypt_all

    settings = get_settings()
    if settings.security.encryption_key is not None:
        raise fail(
            "the key comes from LUMEN_SECURITY__ENCRYPTION_KEY: rotate by moving to a key file "
            "(LUMEN_SECURITY__KEY_FILE) that holds both keys",
            2,
        )
    key_file = settings.security.key_file or settings.paths.data_dir / "keys.json"
    if not key_file.is_file():
        raise ComponentError(f"no key file at {key_file}")
    new_id = add_key(key_file)
    services = _services_without_pipeline()
    try:
        keyring = load_key_file(key_file)
        with Progress(SpinnerColumn(), TextColumn("{task.description} {task.completed}")) as bar:
            task = bar.add_task("re-encrypting", total=None)
            changed = reencrypt_all(
                services.database, keyring, progress=lambda n: bar.advance(task, n)
            )
        services.audit.record(
            actor=Actor.system(), action="keys.rotate", object_type="key", object_id=new_id
        )
    finally:
        services.close()
    console.print(f"active key {new_id}; re-encrypted {changed} value(s)", highlight=False)
    if retire:
        removed = retire_keys(key_file, keep={new_id})
        console.print(f"retired {len(removed)} old key(s)", highlight=False)


@retention_app.command("run")
@handle_errors
def retention_run(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Delete conversations idle this long (default: the setting)."),
    ] = None,
) -> None:
    """Delete conversations older than the retention period."""
    from lumen.services.data_rights import purge_expired_conversations

    services = _services_without_pipeline()
    try:
        removed = purge_expired_conversations(services, days=days)
    finally:
        services.close()
    console.print(f"deleted {removed} conversation(s)", highlight=False)


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply the database migrations."""
    from lumen.db.session import open_database

    settings = get_settings()
    open_database(settings.database_url(), migrate=True).dispose()
    console.print("database schema is up to date", highlight=False)
