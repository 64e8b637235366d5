"""Engine, sessions and migrations for PostgreSQL or the embedded SQLite file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lumen.errors import ComponentError, MissingExtraError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Database:
    """One engine and its session factory for a database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            from sqlalchemy import create_engine, event
            from sqlalchemy.orm import sessionmaker
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingExtraError("sqlalchemy", "service") from exc
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return str(self.engine.dialect.name)

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


def open_database(url: str, *, echo: bool = False, migrate: bool = True) -> Database:
    """Connect to ``url`` and, if asked, apply migrations; a clear error if unreachable."""
    database = Database(url, echo=echo)
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
    cursor.close()
