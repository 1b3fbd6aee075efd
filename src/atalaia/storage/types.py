"""Column types and value helpers shared by every table.

Both databases must hand back the same Python values: an aware UTC `datetime` and plain JSON.
SQLite has no time zone type, so the zone is normalised here rather than trusted to each caller.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL is smaller to store and can be indexed later; SQLite stores JSON as text.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime, the only kind the storage layer accepts."""
    return datetime.now(UTC)


def new_id() -> str:
    """A stable random id (uuid4 hex): sinks use it to drop duplicates after a redelivery."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC and always read back as aware UTC.

    Naive datetimes are refused: guessing their zone is how alert times end up hours off.
    PostgreSQL keeps the instant in `timestamptz`; SQLite gets naive UTC text, which still
    sorts and compares correctly because every value has the same zone and format.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime (e.g. UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
