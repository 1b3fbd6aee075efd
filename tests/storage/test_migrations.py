"""The migrations build the schema the models describe, on an empty database of each kind."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from atalaia.storage.db import Database
from atalaia.storage.models import Base

TABLES = {"cameras", "zones", "rules", "alerts", "alert_events", "deliveries", "settings"}


def _schema_diff(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_on_empty_database_matches_models(empty_db: Database) -> None:
    assert not set(inspect(empty_db.engine).get_table_names()) & TABLES
    empty_db.migrate()
    assert set(inspect(empty_db.engine).get_table_names()) >= TABLES
    head = ScriptDirectory.from_config(empty_db.alembic_config()).get_current_head()
    assert _revision(empty_db) == head
    assert _schema_diff(empty_db) == []


def test_migrate_twice_changes_nothing(empty_db: Database) -> None:
    empty_db.migrate()
    empty_db.migrate()
    assert _schema_diff(empty_db) == []


def _migrate(url: str, start: Any) -> None:
    database = Database(url)
    try:
        start.wait(60)
        database.migrate()
    finally:
        database.dispose()


def test_processes_starting_together_migrate_once(empty_db: Database) -> None:
    """Nodes starting together on one database must not trip over each other's migration."""
    url = empty_db.engine.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(3, mp_context=spawn) as pool:
        start = manager.Barrier(3)
        for future in [pool.submit(_migrate, url, start) for _ in range(3)]:
            future.result(timeout=120)
    assert _schema_diff(empty_db) == []


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds(empty_db: Database) -> None:
    empty_db.migrate()
    config = empty_db.alembic_config()
    with empty_db.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not set(inspect(empty_db.engine).get_table_names()) & TABLES
    empty_db.migrate()
    assert _schema_diff(empty_db) == []


def test_migrations_ship_inside_the_package() -> None:
    script = ScriptDirectory.from_config(Database("sqlite://").alembic_config())
    assert script.dir.endswith("atalaia/storage/migrations")
    assert script.get_heads() == ["0005"]
