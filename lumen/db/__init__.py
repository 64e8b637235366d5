"""The relational database: models, engine and sessions, Alembic migrations."""
