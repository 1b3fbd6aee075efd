"""Datetimes go in aware and come back aware UTC, the same on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from atalaia.storage.db import Database
from atalaia.storage.models import Alert
from tests.storage.conftest import T0
from tests.storage.helpers import make_alert

SAO_PAULO = timezone(timedelta(hours=-3))
TOKYO = timezone(timedelta(hours=9))


def test_aware_datetime_round_trips_as_utc(db: Database) -> None:
    start = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=TOKYO)
    with db.session() as session:
        alert = make_alert(start_time=start)
        session.add(alert)
    with db.session() as session:
        if not db.is_sqlite:
            # The server would otherwise hand values back in this zone.
            session.connection().exec_driver_sql("SET TIME ZONE 'America/Sao_Paulo'")
        loaded = session.get_one(Alert, alert.id)
        assert loaded.start_time == start
        assert loaded.start_time.utcoffset() == timedelta(0)
        assert loaded.start_time.isoformat() == "2026-02-28T23:30:15.123456+00:00"


def test_comparisons_use_the_instant_not_the_wall_clock(db: Database) -> None:
    with db.session() as session:
        session.add(make_alert(start_time=T0))
    # 11:00 in São Paulo is 14:00 UTC, after T0 (12:00 UTC) though its wall clock is earlier.
    later = datetime(2026, 1, 1, 11, 0, tzinfo=SAO_PAULO)
    with db.session() as session:
        assert session.scalars(select(Alert).where(Alert.start_time < later)).all()
        assert not session.scalars(select(Alert).where(Alert.start_time > later)).all()


def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(make_alert(start_time=datetime(2026, 1, 1, 12, 0)))
        session.flush()
