"""Reading alerts for the API: filtered, paginated, newest first, with their deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from atalaia.storage.models import Alert, AlertEvent, Delivery


@dataclass(frozen=True)
class AlertFilter:
    camera: str | None = None
    label: str | None = None
    rule: str | None = None
    zone: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Alert]) -> Select[Alert]:
        if self.camera is not None:
            query = query.where(Alert.camera_id == self.camera)
        if self.label is not None:
            query = query.where(Alert.label == self.label)
        if self.rule is not None:
            query = query.where(Alert.rule == self.rule)
        if self.zone is not None:
            query = query.where(Alert.zone == self.zone)
        if self.since is not None:
            query = query.where(Alert.start_time >= self.since)
        if self.until is not None:
            query = query.where(Alert.start_time < self.until)
        return query


def list_alerts(
    session: Session, where: AlertFilter, *, limit: int, offset: int
) -> tuple[list[Alert], int]:
    """A page of alerts (newest first) and the total that match."""
    base = where.apply(select(Alert))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.order_by(Alert.start_time.desc(), Alert.id).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def get_alert(session: Session, alert_id: str) -> Alert | None:
    return session.get(Alert, alert_id)


def deliveries_of(session: Session, alert_id: str) -> list[tuple[AlertEvent, Delivery]]:
    """Each event of the alert with its delivery to each sink, in event order."""
    rows = session.execute(
        select(AlertEvent, Delivery)
        .join(Delivery, Delivery.event_id == AlertEvent.id)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(AlertEvent.seq, Delivery.sink)
    )
    return [(event, delivery) for event, delivery in rows]


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)
