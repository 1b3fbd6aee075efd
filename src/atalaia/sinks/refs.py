"""Durable references from our alerts to what a sink's destination calls them.

Frigate answers an event creation with its own id, and ending that event later needs it; the
answer may come hours before the end, across restarts, so it is written to the database.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from atalaia.storage.models import SinkRef


def load_ref(session: Session, sink: str, alert_id: str) -> str | None:
    ref = session.get(SinkRef, (sink, alert_id))
    return ref.remote_id if ref is not None else None


def save_ref(session: Session, sink: str, alert_id: str, remote_id: str) -> None:
    """Remember `remote_id` for the alert; a second save replaces the first."""
    ref = session.get(SinkRef, (sink, alert_id), with_for_update=True)
    if ref is None:
        session.add(SinkRef(sink=sink, alert_id=alert_id, remote_id=remote_id))
    else:
        ref.remote_id = remote_id
    session.flush()
