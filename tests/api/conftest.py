"""The service on two stacks: embedded (SQLite + in-process KV) and production-like
(the machine's PostgreSQL + Redis); a manual clock; the real RAG parts shared per session."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lumen.api.app import create_app
from lumen.clock import ManualClock
from lumen.factory import Lumen, build_lumen, build_services
from lumen.services.container import Services
from lumen.settings import Settings

from ..corpus import medquad_subset

POSTGRES_URL = os.environ.get(
    "LUMEN_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LUMEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def rag_lumen(tmp_path_factory, shared_data, embedder, llm) -> Iterator[Lumen]:  # type: ignore[no-untyped-def]
    """A small real index (a dozen NIHSeniorHealth documents) with MiniLM and SmolLM2."""
    from lumen.ingest.loaders import get_loader

    root = tmp_path_factory.mktemp("service-index")
    settings = Settings(paths={"data_dir": root / "data", "sources_dir": shared_data})
    with build_lumen(settings, embedder=embedder, llm=llm) as lumen:
        problems: list[tuple[Path, str]] = []
        medquad = get_loader("medquad")
        lumen.ingestor.ingest(
            medquad.load(
                medquad_subset(shared_data, root),
                collection="knowledge",
                report=lambda path, message: problems.append((path, message)),
            ),
            collection="knowledge",
        )
        assert not problems
        yield lumen


def _postgres_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _reachable_postgres() -> bool:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


def _reachable_redis() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@dataclass
class Stack:
    """Where the service keeps its state in one test."""

    name: str
    database_url: str
    kv: dict[str, Any]
    schema: str | None = None


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """SQLite + in-process KV, or PostgreSQL (a fresh schema) + Redis (a fresh prefix)."""
    if request.param == "embedded":
        yield Stack("embedded", f"sqlite:///{tmp_path / 'lumen.db'}", {"backend": "memory"})
        return
    if os.environ.get("CI") != "true" and not (_reachable_postgres() and _reachable_redis()):
        pytest.skip("PostgreSQL or Redis is not running on this machine")
    import redis
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    prefix = f"lumentest:{schema}:"
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        yield Stack(
            "postgres-redis",
            _postgres_schema_url(schema),
            {"backend": "redis", "url": REDIS_URL, "prefix": prefix},
            schema,
        )
    finally:
        with engine.begin() as connection:
            # A test that leaks a connection must fail, not hang the suite on this lock.
            connection.execute(sqlalchemy.text("SET lock_timeout = '10s'"))
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when a test says so."""
    return ManualClock()


def make_settings(tmp_path: Path, stack: Stack, **overrides: Any) -> Settings:
    """Settings for a test service (fast password hashing is not needed: argon2 is quick)."""
    values: dict[str, Any] = {
        "paths": {"data_dir": tmp_path / "data"},
        "database": {"url": stack.database_url},
        "kv": stack.kv,
        "api": {"rate_limit_per_ip": 10_000, "rate_limit_per_user": 1_000},
        "auth": {"signups_per_ip": 1_000},
    }
    for key, value in overrides.items():
        values[key] = {**values.get(key, {}), **value}
    return Settings(**values)


@pytest.fixture
def service_settings(tmp_path: Path, stack: Stack) -> Settings:
    """The test service's settings."""
    return make_settings(tmp_path, stack)


@pytest.fixture
def services(
    service_settings: Settings, clock: ManualClock, rag_lumen: Lumen
) -> Iterator[Services]:
    """The service's parts, with the shared RAG index."""
    built = build_services(service_settings, clock=clock, lumen=rag_lumen)
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """An HTTPS test client (Secure cookies travel)."""
    from lumen.api.app import create_app

    app = create_app(services=services)
    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@dataclass
class Account:
    """A signed-up, signed-in user driving the API with a bearer token."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


def sign_up(client: TestClient, email: str, password: str = PASSWORD) -> Account:
    """Create an account and sign in with a bearer token (no cookies kept)."""
    created = client.post("/api/v1/auth/signup", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    client.cookies.clear()
    return Account(created.json()["id"], email, login.json()["token"])


def make_admin(services: Services, account: Account) -> Account:
    """Promote an account to admin directly in the database and sign in again."""
    from lumen.db.models import User

    with services.database.session() as db:
        user = db.get(User, account.id)
        assert user is not None
        user.role = "admin"
    token, _ = services.sessions.create(account.id, "admin")
    return Account(account.id, account.email, token)


def make_pharma(services: Services, account: Account, organisation: str) -> Account:
    """Make an account a pharma user of ``organisation`` directly in the database."""
    from lumen.db.models import User

    with services.database.session() as db:
        user = db.get(User, account.id)
        assert user is not None
        user.role = "pharma"
        user.organisation = organisation
    token, _ = services.sessions.create(account.id, "pharma")
    return Account(account.id, account.email, token)


@pytest.fixture
def alice(client: TestClient) -> Account:
    """A patient."""
    return sign_up(client, "alice@example.org")


@pytest.fixture
def bob(client: TestClient) -> Account:
    """Another patient."""
    return sign_up(client, "bob@example.org")


PG_BIN = Path(os.environ.get("LUMEN_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster that one test starts, stops and throws away (never the shared one)."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        import subprocess

        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop it at once, as a crash would (``-m immediate``)."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A fresh cluster on its own port and data directory, started; removed afterwards."""
    import shutil
    import tempfile

    if not (PG_BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="lumen-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = OwnPostgres(root, _free_port())
    cluster._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


BuildService = Callable[..., tuple[Services, TestClient]]


@pytest.fixture
def service_builder(
    tmp_path: Path, stack: Stack, clock: ManualClock, rag_lumen: Lumen
) -> Iterator[BuildService]:
    """Builds a service with setting overrides on the test's stack; all closed afterwards."""
    opened: list[tuple[Services, TestClient]] = []

    def build(**overrides: Any) -> tuple[Services, TestClient]:
        settings = make_settings(tmp_path, stack, **overrides)
        services = build_services(settings, clock=clock, lumen=rag_lumen)
        client = TestClient(
            create_app(services=services),
            base_url="https://testserver",
            raise_server_exceptions=False,
        )
        client.__enter__()
        opened.append((services, client))
        return services, client

    yield build
    for services, client in opened:
        client.__exit__(None, None, None)
        services.close()


@pytest.fixture
def loaded(
    tmp_path: Path, stack: Stack, clock: ManualClock, rag_lumen: Lumen
) -> Iterator[tuple[Services, TestClient, Account]]:
    """A service whose model queue holds one waiting question and waits at most 2 s."""
    settings = make_settings(
        tmp_path,
        stack,
        llm={"max_queue": 1, "queue_timeout_s": 2.0, "timeout_s": 120.0},
        api={"cache_ttl_s": 0},
    )
    services = build_services(settings, clock=clock, lumen=rag_lumen)
    with TestClient(
        create_app(services=services), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        yield services, client, sign_up(client, "alice@example.org")
    services.close()


@pytest.fixture
def web_app(
    tmp_path: Path, stack: Stack, clock: ManualClock, rag_lumen: Lumen
) -> Iterator[tuple[FastAPI, Services, TestClient]]:
    """The service with a (tiny) web app mounted at /, as `lumen serve` runs it."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Lumen</title>", encoding="utf-8")
    settings = make_settings(tmp_path, stack, api={"web_dir": web})
    services = build_services(settings, clock=clock, lumen=rag_lumen)
    app = create_app(services=services)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield app, services, client
    services.close()


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Puts back the handlers and filters of the loggers a test reconfigures."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine.Engine"]
    loggers = {n: logging.getLogger(n) for n in names}
    saved = {n: (list(logger.handlers), logger.propagate) for n, logger in loggers.items()}
    yield
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate


@pytest.fixture
def locked_services(
    tmp_path: Path,
    stack: Stack,
    clock,
    embedder,
    llm,  # type: ignore[no-untyped-def]
) -> Iterator[tuple[Services, Any]]:
    """A service whose embedded index is held open by another store."""
    from lumen.components.vector_store.qdrant_edge import EdgeVectorStore
    from lumen.documents import Document, Section

    settings = make_settings(tmp_path, stack)
    with build_lumen(settings, embedder=embedder, llm=llm) as lumen:
        doc = Document(
            id="d1",
            title="Glaucoma",
            url="file:d1",
            source="files",
            collection="knowledge",
            sections=(Section("", "Glaucoma damages the optic nerve and can cause blindness."),),
        )
        lumen.ingestor.ingest([doc], collection="knowledge")
    holder = EdgeVectorStore(settings.paths.data_dir / "qdrant", exact_search_below=1000)
    assert holder.stats("knowledge").documents == 1  # opens (and locks) the shard
    services = build_services(
        settings, clock=clock, lumen=build_lumen(settings, embedder=embedder, llm=llm)
    )
    yield services, holder
    services.close()
    holder.close()
