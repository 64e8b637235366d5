"""Alembic environment: Lumen passes the database URL in the config's attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from lumen.db.models import Base

config = context.config
url: str = config.attributes.get("lumen_url") or config.get_main_option("sqlalchemy.url") or ""


def run_migrations() -> None:
    """Apply migrations over one connection."""
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
