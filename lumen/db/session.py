"""Engine, sessions and migrations for PostgreSQL or the embedded SQLite file."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
AUDIT_POOL_SIZE = 2
RETRY_AFTER_S = 5
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def is_outage(exc: BaseException) -> bool:
    """Whether a database error means the database is unreachable or overloaded (a 503)."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError | sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only; tighten the files that exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    _tighten(path)


def _tighten(path: Path) -> None:
    for suffix in SQLITE_SUFFIXES:
        file = path.with_name(path.name + suffix)
        try:
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError as exc:  # another process may have removed it meanwhile
            logger.debug("cannot tighten %s: %s", file.name, type(exc).__name__)


class Database:
    """One engine and its session factory for a database URL."""

    def __init__(self, url: str, *, echo: bool = False, pool_timeout_s: float = 10.0) -> None:
        try:
            from sqlalchemy import create_engine, event
            from sqlalchemy.orm import sessionmaker
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingExtraError("sqlalchemy", "service") from exc
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
        in_memory = False
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1].split("?", 1)[0]
            in_memory = not path or path == ":memory:"
            if not in_memory:
                _create_private(Path(path))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if not in_memory:  # an in-memory SQLite database has a single connection, no queue
            kwargs["pool_timeout"] = pool_timeout_s
        self.engine = create_engine(url, **kwargs)
        # The audit log appends through its own small pool: a request that holds a connection
        # of the main pool never waits for a second one from that same pool.
        self.audit_engine = (
            self.engine
            if in_memory
            else create_engine(url, **kwargs, pool_size=AUDIT_POOL_SIZE, max_overflow=4)
        )
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if self.audit_engine is not self.engine:
                event.listen(self.audit_engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.audit_sessions = sessionmaker(self.audit_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return str(self.engine.dialect.name)

    @contextmanager
    def audit_session(self) -> Iterator[Any]:
        """A session on the audit log's own pool (the caller commits)."""
        session = self.audit_sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A session that commits on success and rolls back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command

        command.upgrade(alembic_config(self.url), "head")

    def ping(self) -> bool:
        """Whether the database answers."""
        from sqlalchemy import text

        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("database ping failed: %s", type(exc).__name__)
            return False
        return True

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
        if self.audit_engine is not self.engine:
            self.audit_engine.dispose()


def alembic_config(url: str) -> Any:
    """Alembic's configuration for Lumen's migrations and ``url``."""
    try:
        from alembic.config import Config
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("alembic", "service") from exc
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["lumen_url"] = url
    return config


def open_database(
    url: str, *, echo: bool = False, migrate: bool = True, pool_timeout_s: float = 10.0
) -> Database:
    """Connect to ``url`` and, if asked, apply migrations; a clear error if unreachable."""
    database = Database(url, echo=echo, pool_timeout_s=pool_timeout_s)
    if migrate:
        try:
            database.migrate()
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "psycopg")):
                raise ComponentError(
                    f"cannot reach the database ({database.dialect}): {type(exc).__name__}"
                ) from exc
            raise
    return database


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    database = cursor.execute("PRAGMA database_list").fetchone()
    cursor.close()
    if database and database[2]:
        _tighten(Path(database[2]))  # the -wal and -shm files WAL mode just created
