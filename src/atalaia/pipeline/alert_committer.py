"""Committing alert events: one transaction per batch, event by event when the batch is refused.

`record_alert_event` writes the alert row, the event and one pending delivery per sink (the
outbox); a batch shares one transaction, each event in its own savepoint. When the database
refuses the batch for a reason a retry cannot fix (an unserialisable payload, a constraint),
the batch is committed again event by event, so only the event at fault is dropped. When the
camera's cluster lease has moved to another node (`LeaseLost`), nothing is ours to record.
The committer only writes and reports (`CommitOutcome`): the recorder counts, under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import inspect, select
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from atalaia.cluster.fencing import Fence, LeaseLost, check_fence
from atalaia.events.recorder import record_alert_event
from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_queue import Pending
from atalaia.storage import Database, StorageError
from atalaia.storage.models import AlertEvent as AlertEventRow

log = logging.getLogger(__name__)


def transient(exc: BaseException) -> bool:
    """Errors a later retry can fix: the database is down, unreachable, locked or restarting."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, StorageError)  # from the schema check, itself a failed connection


@dataclass(slots=True)
class CommitOutcome:
    """What became of a batch: `written` are stored (announce them), `retry` is its unwritten
    tail after a transient `error` (in order), the rest were rejected or fenced (dropped)."""

    written: list[AlertEvent] = field(default_factory=list)
    retry: list[Pending] = field(default_factory=list)
    error: BaseException | None = None
    rejected: int = 0
    fenced: int = 0


class BatchCommitter:
    def __init__(self, database: Database | str, sinks: Sequence[str], fence: Fence | None) -> None:
        self._database = database
        self.sinks = list(sinks)
        self.fence = fence
        self._schema_ready = False

    @property
    def database(self) -> Database:
        """The database, opened on first use when given as a URL (in the writer thread)."""
        if isinstance(self._database, str):
            self._database = Database(self._database)
        return self._database

    def dispose(self) -> None:
        """Close the pool, if a database was ever opened (or given)."""
        if isinstance(self._database, Database):
            self._database.dispose()

    def write(self, batch: list[Pending]) -> CommitOutcome:
        """Commit the batch in one transaction; if the database rejects it for a reason a retry
        cannot fix, event by event, so only the event at fault is dropped (and logged)."""
        try:
            return CommitOutcome(written=self._commit(batch))
        except LeaseLost as exc:
            return self._fenced(batch, exc, CommitOutcome())
        except Exception as exc:
            if transient(exc):
                return CommitOutcome(retry=batch, error=exc)
        outcome = CommitOutcome()
        for i, item in enumerate(batch):
            try:
                outcome.written += self._commit([item])
            except LeaseLost as exc:
                return self._fenced(batch[i:], exc, outcome)
            except Exception as exc:
                if transient(exc):
                    outcome.retry, outcome.error = batch[i:], exc
                    return outcome
                outcome.rejected += 1
                log.error("alert event %s rejected by the database: %s", item.event.id, exc)
        return outcome

    @staticmethod
    def _fenced(batch: list[Pending], exc: LeaseLost, outcome: CommitOutcome) -> CommitOutcome:
        """Another node runs this camera now: these events are not ours to record (that
        node's camera sees the same scene). Dropped, counted and logged."""
        outcome.fenced += len(batch)
        log.error("%d alert event(s) not recorded: %s", len(batch), exc)
        return outcome

    def _commit(self, batch: list[Pending]) -> list[AlertEvent]:
        """Write `batch` in one transaction (each event in its own savepoint)."""
        self._ensure_schema()
        written: list[AlertEvent] = []
        with self.database.session() as session:
            if self.fence is not None and batch:
                check_fence(session, batch[0].event.after.camera, self.fence)
            for item in batch:
                if item.from_spool and session.scalar(
                    select(AlertEventRow.seq).where(AlertEventRow.id == item.event.id)
                ):
                    continue  # stored by the run that kept it; its deliveries exist too
                record_alert_event(session, item.event, self.sinks)
                written.append(item.event)
        return written

    def _ensure_schema(self) -> None:
        """A camera started without the service (`atalaia supervisor`) may find no tables."""
        if self._schema_ready:
            return
        try:
            present = inspect(self.database.engine).has_table("alert_events")
        except SQLAlchemyError as exc:
            raise StorageError(str(exc)) from exc
        if not present:
            self.database.migrate()
        self._schema_ready = True
