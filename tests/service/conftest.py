"""Service tests use the storage tests' PostgreSQL fixtures (a throwaway database each)."""

from tests.storage.conftest import postgres_server  # noqa: F401 (a fixture, found by name)
