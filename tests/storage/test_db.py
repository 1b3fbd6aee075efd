"""The Database handle: URLs, sessions, SQLite pragmas, and passwords kept out of errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from atalaia.storage.db import Database, StorageError, default_sqlite_url
from atalaia.storage.models import Camera


def test_default_sqlite_url_creates_the_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    url = default_sqlite_url(data_dir)
    assert data_dir.is_dir()
    assert url == f"sqlite:///{data_dir.resolve()}/atalaia.db"


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as session:
        session.add(Camera(id="kept", name="Kept", source_url="rtsp://h/1"))
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(Camera(id="lost", name="Lost", source_url="rtsp://h/2"))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert list(session.scalars(select(Camera.id))) == ["kept"]


def test_objects_stay_readable_after_the_session(db: Database) -> None:
    with db.session() as session:
        camera = Camera(id="cam", name="Cam", source_url="rtsp://h/1")
        session.add(camera)
    assert camera.name == "Cam"
    assert camera.version == 1


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_db: Database) -> None:
    # A second handle on the same file: its connections never ran a migration.
    fresh = Database(sqlite_db.engine.url.render_as_string())
    with fresh.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 30000
    fresh.dispose()
    wal = Path(str(sqlite_db.engine.url.database) + "-wal")
    with sqlite_db.session() as session:
        session.add(Camera(id="cam", name="Cam", source_url="rtsp://h/1"))
    assert wal.exists()


def test_sqlite_migration_leaves_foreign_keys_on(tmp_path: Path) -> None:
    database = Database(default_sqlite_url(tmp_path))
    database.migrate()
    # The only pooled connection is the one the migration turned foreign keys off on.
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedin() == 1
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_invalid_url_error_hides_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        Database("postgresql+psycopg://user:s3cretpw@host:notaport/db")
    assert "s3cretpw" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_unknown_driver_error_hides_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        Database("postgresql+nosuchdriver://user:s3cretpw@127.0.0.1/db")
    assert "s3cretpw" not in str(caught.value)
    assert "user:***@" in str(caught.value)


def test_unreachable_database_error_hides_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = Database(f"postgresql+psycopg://user:s3cretpw@127.0.0.1:{port}/db")
    assert "s3cretpw" not in repr(database)
    with pytest.raises(StorageError) as caught:
        database.migrate()
    assert "s3cretpw" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_in_memory_sqlite_works_for_a_single_connection() -> None:
    database = Database("sqlite://")
    database.migrate()
    with database.session() as session:
        session.add(Camera(id="cam", name="Cam", source_url="rtsp://h/1"))
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Camera)) == 1
