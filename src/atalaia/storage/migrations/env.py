"""Alembic environment for atalaia's schema.

Migrations are run through `atalaia.storage.db.Database` (`migrate()`, or `alembic_config()`
for Alembic's other commands), never from an alembic.ini: the package must migrate the same
way when installed from a wheel. SQLite can only change a table by copying it, so operations
are rendered in batch mode there.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from atalaia.storage.models import Base


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    attributes = context.config.attributes
    connection = attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    database = attributes.get("database")
    if database is None:
        raise RuntimeError(
            "run atalaia migrations through atalaia.storage.db.Database (migrate() or "
            "alembic_config()), not with a bare alembic command"
        )
    if context.is_offline_mode():
        # `--sql` mode: print the SQL for a DBA instead of running it.
        context.configure(
            url=database.engine.url,
            target_metadata=Base.metadata,
            render_as_batch=database.is_sqlite,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    with database.engine.connect() as connection:
        _run_on(connection)
        connection.commit()


_main()
