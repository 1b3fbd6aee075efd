"""How many alerts there were, per camera, label and rule: the question dashboards ask most.

Answered from the alerts table (indexed by camera, label and rule with the start time), so it
is right on every node and after any restart, whatever the sinks are doing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from atalaia.storage.models import Alert, AlertState


@dataclass(frozen=True, slots=True)
class AlertCount:
    camera: str
    label: str
    rule: str
    total: int
    active: int


def alert_counts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    camera: str | None = None,
) -> list[AlertCount]:
    """Alerts that started in [since, until), grouped by camera, label and rule, with how many
    of them are still active; sorted by camera, label, rule."""
    active = func.sum(case((Alert.state == AlertState.ACTIVE, 1), else_=0))
    query = select(Alert.camera_id, Alert.label, Alert.rule, func.count(), active).group_by(
        Alert.camera_id, Alert.label, Alert.rule
    )
    if since is not None:
        query = query.where(Alert.start_time >= since)
    if until is not None:
        query = query.where(Alert.start_time < until)
    if camera is not None:
        query = query.where(Alert.camera_id == camera)
    rows = session.execute(query.order_by(Alert.camera_id, Alert.label, Alert.rule)).all()
    return [
        AlertCount(camera=c, label=lbl, rule=r, total=int(total), active=int(act or 0))
        for c, lbl, r, total, act in rows
    ]


def active_by_label(session: Session, camera: str) -> dict[str, int]:
    """Alerts active on `camera` right now, per label (the MQTT `<camera>/<label>` values)."""
    query = (
        select(Alert.label, func.count())
        .where(Alert.camera_id == camera, Alert.state == AlertState.ACTIVE)
        .group_by(Alert.label)
    )
    return {label: int(n) for label, n in session.execute(query).all()}


def active_alerts(session: Session) -> list[tuple[str, str, str, str]]:
    """(alert id, camera, label, rule) of every active alert."""
    query = select(Alert.id, Alert.camera_id, Alert.label, Alert.rule).where(
        Alert.state == AlertState.ACTIVE
    )
    return [(a, c, lbl, r) for a, c, lbl, r in session.execute(query).all()]
