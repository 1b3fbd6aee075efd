"""Outbox tests run on SQLite and on PostgreSQL, with the storage tests' database fixtures."""

from tests.storage.conftest import (  # noqa: F401 (fixtures, found by name)
    db,
    pg_db,
    postgres_db,
    postgres_server,
    sqlite_db,
)
