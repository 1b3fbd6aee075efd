"""Fixtures that run each storage test on SQLite and on PostgreSQL.

PostgreSQL tests get a database of their own, created for the test session and dropped at the
end, so parallel runs and other users of the server never see each other's rows. The server
URL (pointing at any existing database to connect through) comes from
ATALAIA_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from atalaia.storage.db import Database, default_sqlite_url
from atalaia.storage.models import Base
from tests.conftest import require_service

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]
# A fixed instant keeps time-dependent assertions exact.
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class PostgresServer:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get("ATALAIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    parsed = make_url(url)
    require_service("PostgreSQL", parsed.host or "127.0.0.1", parsed.port or 5432)
    server = PostgresServer(url)
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_db(postgres_server: PostgresServer) -> Iterator[Database]:
    """One migrated database for the whole session; `db` empties it after each test."""
    url = postgres_server.create("atalaia_test")
    database = Database(url)
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        postgres_server.drop(url)


def _sqlite_db(tmp_path: Path) -> Database:
    return Database(default_sqlite_url(tmp_path / "data"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        database = _sqlite_db(tmp_path)
        database.migrate()
        yield database
        database.dispose()
        return
    yield request.getfixturevalue("pg_db")


@pytest.fixture
def pg_db(postgres_db: Database) -> Iterator[Database]:
    """The session's PostgreSQL database, emptied after the test."""
    yield postgres_db
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with postgres_db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each kind with no tables at all."""
    if request.param == "sqlite":
        database = _sqlite_db(tmp_path)
        yield database
        database.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create("atalaia_test_empty")
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        server.drop(url)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = _sqlite_db(tmp_path)
    database.migrate()
    yield database
    database.dispose()
