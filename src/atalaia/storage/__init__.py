"""Durable storage: cameras, alerts and the alert outbox, on SQLite or PostgreSQL."""

from atalaia.storage.db import Database, StorageError, default_sqlite_url

__all__ = ["Database", "StorageError", "default_sqlite_url"]
