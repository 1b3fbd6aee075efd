"""The database handle: one engine, its sessions, and its migrations.

SQLite (one file under the data directory) is the default so a single machine needs nothing
else; PostgreSQL, given by URL, is what several nodes share. Everything that differs between the
two stays in this module, so the rest of the storage package is written once.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from atalaia.redact import mask_secrets, mask_url

if TYPE_CHECKING:
    # Alembic is imported where migrations run: every camera process writes alerts through
    # this module and never migrates (0.1-0.3 s less to start each one).
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = "atalaia.storage:migrations"
# Nodes that start together on one PostgreSQL must not both run the same migration.
_MIGRATION_LOCK_KEY = zlib.crc32(b"atalaia.storage.migrate")
# Alembic's `context` and `op` are process-wide: two migrations in one process must take turns.
_ALEMBIC_IN_USE = threading.Lock()


class StorageError(RuntimeError):
    """The database could not be used; the message never contains the URL's password."""


def default_sqlite_url(data_dir: Path) -> str:
    """The URL of the SQLite file in `data_dir`, creating the directory if needed."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'atalaia.db'}"


class Database:
    """An engine built from a SQLAlchemy URL, with sessions that commit or roll back.

    On SQLite each connection runs in WAL mode (readers never block the writer) with
    `synchronous=NORMAL` (durable across a process crash, only the last commits may be lost
    on power failure), foreign keys on (SQLite leaves them off), and a busy timeout so a
    writer waits for another instead of failing at once.
    """

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_s: float = 30.0) -> None:
        self._masked_url = mask_url(url)
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            # The parser's own message may quote the whole URL, password included.
            raise StorageError(f"not a valid database URL: {self._masked_url}") from None
        self._sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo}
        if not self._sqlite:
            # A node outlives database restarts and idle connection cuts by firewalls.
            options["pool_pre_ping"] = True
        try:
            self._engine = create_engine(parsed, **options)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StorageError(
                f"cannot use database {self._masked_url}: {mask_secrets(str(exc))}"
            ) from None
        if self._sqlite:
            _configure_sqlite(self._engine, busy_timeout_s)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({self._masked_url})"

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def masked_url(self) -> str:
        """The URL with its password hidden, for logs and status pages."""
        return self._masked_url

    @property
    def is_sqlite(self) -> bool:
        return self._sqlite

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        Objects stay readable after the block (`expire_on_commit=False`), so a caller can
        claim rows, leave the block, and then work with what it got without holding a
        transaction open. On SQLite the transaction takes the write lock at its start
        (BEGIN IMMEDIATE): a transaction that reads first and writes later would otherwise
        fail outright when another connection wrote in between.
        """
        with self._sessions() as session, session.begin():
            yield session

    def alembic_config(self) -> Config:
        """Alembic's configuration for this database, with the migrations shipped in the package.

        Also the way to write a new migration after changing the models:
        `command.revision(Database(url).alembic_config(), message="...", autogenerate=True)`.
        """
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["database"] = self
        return config

    def migrate(self) -> None:
        """Bring the schema to the newest migration, in one transaction.

        Safe to call at every start: an up-to-date database is left as it is, and processes
        that start together wait for each other (an advisory lock on PostgreSQL, the write lock
        on SQLite).
        """
        log.info("migrating database %s", self._masked_url)
        # SQLite can answer "database is locked" at once (not after the busy timeout) when
        # several processes upgrade their locks together; waiting and trying again is right.
        for attempt in range(8 if self._sqlite else 1):
            try:
                self._migrate_once()
                return
            except DBAPIError as exc:
                locked = self._sqlite and "locked" in str(exc.orig).lower()
                if locked and attempt < 7:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise StorageError(
                    f"cannot migrate database {self._masked_url}: "
                    f"{type(exc.orig).__name__}: {mask_secrets(str(exc.orig))}"
                ) from None

    def _migrate_once(self) -> None:
        from alembic import command

        config = self.alembic_config()
        with _ALEMBIC_IN_USE, self._engine.connect() as connection:
            config.attributes["connection"] = connection
            if self._sqlite:
                _upgrade_sqlite(connection, config)
            else:
                with connection.begin():
                    connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                    command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or in a child process after fork)."""
        self._engine.dispose()


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    """Set the pragmas on each new connection and let SQLAlchemy, not sqlite3, emit BEGIN.

    Python's sqlite3 module, left to itself, starts no transaction before SELECT or DDL, which
    breaks repeatable reads, savepoints and transactional migrations.
    """
    timeout_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The timeout first, so that switching the journal mode waits for other writers.
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_sqlite(connection: Connection, config: Config) -> None:
    """Upgrade with foreign keys off, then check them, all before the commit.

    SQLite changes a table by copying it into a new one and dropping the old; with foreign
    keys on, that drop would cascade and delete the rows of every child table. The pragma only
    takes effect outside a transaction, hence the raw driver connection.
    """
    from alembic import command

    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        with connection.begin():
            command.upgrade(config, "head")
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise StorageError(f"migration left rows with broken foreign keys: {broken[:5]}")
    finally:
        driver.execute("PRAGMA foreign_keys = ON")
