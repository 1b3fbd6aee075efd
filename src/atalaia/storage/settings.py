"""Installation-wide settings: small facts every node on one database must agree on.

"First start" decisions (seed the YAML cameras, generate an API token) are taken once per
installation, and the installation is the database: a new data directory pointed at it, or a
second node sharing it, must find them already taken. Each decision is claimed with an insert
that does nothing when the key exists, so nodes starting together cannot both take it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from atalaia.storage.models import Setting
from atalaia.storage.types import utcnow

CAMERAS_SEEDED = "cameras_seeded"
API_TOKEN_SHA256 = "api_token_sha256"


def get_setting(session: Session, key: str) -> str | None:
    return session.scalar(select(Setting.value).where(Setting.key == key))


def claim_setting(session: Session, key: str, value: str) -> bool:
    """Store `value` under `key` unless the key exists; True when this call stored it.

    On PostgreSQL a concurrent transaction claiming the same key waits for this one and then
    stores nothing; on SQLite the write lock taken at BEGIN already serialises them.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Setting)
        .values(key=key, value=value, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Setting.key])
        .returning(Setting.key)
    )
    # A row comes back only when this insert stored one (rowcount is not reliable here).
    return session.execute(statement).first() is not None


def get_or_claim_setting(session: Session, key: str, value: str) -> tuple[str, bool]:
    """The stored value of `key`, storing `value` first if there is none; and whether it did."""
    claimed = claim_setting(session, key, value)
    stored = get_setting(session, key)
    assert stored is not None  # just claimed, or claimed by someone else before
    return stored, claimed
