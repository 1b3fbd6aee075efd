"""AlertRecorder: events committed (with their snapshots) before anyone hears of them, never
blocking the caller, and kept through a database outage: SQLite locked by another writer, and
PostgreSQL behind a proxy whose connections are cut."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from atalaia.events.types import AlertEvent, AlertState
from atalaia.pipeline.alert_recorder import AlertRecorder, SnapshotJob
from atalaia.storage import Database
from atalaia.storage.models import Alert, Delivery, DeliveryStatus
from atalaia.storage.models import AlertEvent as AlertEventRow
from tests.conftest import require_service
from tests.storage.conftest import DEFAULT_POSTGRES_URL, PostgresServer

SINKS = ["database", "mqtt"]


def state(alert_id: str = "a" * 32, **kw: object) -> AlertState:
    base: dict[str, object] = dict(
        id=alert_id, camera="gate", label="person", rule="in_dock", rule_type="object_in_zone",
        zone="dock", score=0.7, top_score=0.7, box=(10.0, 20.0, 30.0, 60.0), track_id=3,
        start_time=1_700_000_000.0,
    )  # fmt: skip
    base.update(kw)
    return AlertState(**base)  # type: ignore[arg-type]


def lifecycle(alert_id: str = "a" * 32) -> list[AlertEvent]:
    s0 = state(alert_id)
    s1 = s0.evolve(score=0.9, top_score=0.9)
    s2 = s1.evolve(end_time=s0.start_time + 12)
    return [
        AlertEvent("new", after=s0, created_at=s0.start_time),
        AlertEvent("update", after=s1, before=s0, created_at=s0.start_time + 5),
        AlertEvent("end", after=s2, before=s1, created_at=s0.start_time + 12),
    ]


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def event_ids(db: Database) -> list[str]:
    """The stable ids (in the payloads sinks deliver) of the stored events, in order."""
    with db.session() as session:
        payloads = session.scalars(select(AlertEventRow.payload).order_by(AlertEventRow.seq))
        return [p["id"] for p in payloads]


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'atalaia.db'}", busy_timeout_s=0.2)
    db.migrate()
    yield db
    db.dispose()


def test_events_are_committed_with_deliveries_before_they_are_announced(
    sqlite: Database, tmp_path: Path
) -> None:
    announced: list[tuple[str, bool, bool]] = []
    snapshot = tmp_path / "media" / "gate" / "snap.jpg"

    def on_committed(event: AlertEvent) -> None:
        # Called only once the event is in the database and its snapshot is on disk.
        announced.append((event.id, event.id in event_ids(sqlite), snapshot.exists()))

    recorder = AlertRecorder(sqlite, SINKS, on_committed).start()
    events = lifecycle()
    frame = np.full((120, 160, 3), 90, np.uint8)
    recorder.submit(events[0], SnapshotJob(frame, (10, 20, 30, 60), "zone: person", snapshot))
    for event in events[1:]:
        recorder.submit(event)
    assert wait_for(lambda: len(announced) == 3)
    recorder.close()
    assert announced == [(e.id, True, True) for e in events]
    assert event_ids(sqlite) == [e.id for e in events]
    with sqlite.session() as session:
        alert = session.get(Alert, events[0].after.id)
        assert alert is not None and alert.state == "ended" and alert.score == pytest.approx(0.9)
        assert alert.end_time is not None and alert.end_time.timestamp() == events[2].after.end_time
        assert alert.zone == "dock" and alert.track_id == 3 and alert.box == [10, 20, 30, 60]
        sinks = session.execute(select(Delivery.sink, Delivery.status)).all()
        assert sorted(sinks) == sorted((s, DeliveryStatus.PENDING) for s in SINKS for _ in events)
        payload = session.scalars(select(AlertEventRow.payload)).first()
        assert payload is not None and payload["after"]["id"] == events[0].after.id
    image = cv2.imread(str(snapshot))
    assert image is not None and image.shape == (120, 160, 3)
    assert recorder.stats()["committed"] == 3 and recorder.stats()["snapshots_written"] == 1


@contextlib.contextmanager
def locked(db: Database) -> Iterator[None]:
    """Another writer holds SQLite's write lock: the database is unwritable meanwhile."""
    path = make_url(str(db.engine.url)).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_sqlite_locked_keeps_events_in_memory_and_writes_them_after(sqlite: Database) -> None:
    announced: list[str] = []
    recorder = AlertRecorder(
        sqlite, SINKS, lambda e: announced.append(e.id), retry_initial=0.05, retry_max=0.2
    ).start()
    events = [e for i in range(10) for e in lifecycle(f"{i:032x}")]
    with locked(sqlite):
        t0 = time.perf_counter()
        for event in events:
            recorder.submit(event)
        assert time.perf_counter() - t0 < 1.0  # never waits for the database
        assert wait_for(lambda: recorder.stats()["db_errors"] >= 2)
        stats = recorder.stats()
        assert stats["pending"] == len(events) and stats["committed"] == 0 and not announced
        assert "locked" in (stats["last_error"] or "")
    assert wait_for(lambda: len(announced) == len(events))
    recorder.close()
    assert announced == [e.id for e in events]  # in order, each once
    assert event_ids(sqlite) == [e.id for e in events]
    assert recorder.stats()["dropped"] == 0 and recorder.stats()["pending"] == 0


def test_a_full_queue_drops_updates_first_and_says_so(
    sqlite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The writer is not started yet: events pile up exactly as while the database is down.
    recorder = AlertRecorder(sqlite, SINKS, max_pending=4)
    a, b, c = lifecycle("a" * 32), lifecycle("b" * 32), lifecycle("c" * 32)
    with caplog.at_level(logging.ERROR):
        for event in [a[0], a[1], b[0], b[1], a[2], b[2]]:  # new, update, new, update, end, end
            recorder.submit(event)
        stats = recorder.stats()
        assert stats["dropped_updates"] == 2 and stats["dropped"] == 0 and stats["pending"] == 4
        recorder.submit(c[0])  # no update left to drop: the oldest event goes
        assert recorder.stats()["dropped"] == 1
    assert "alert events DROPPED" in caplog.text
    recorder.start()
    assert wait_for(lambda: recorder.stats()["committed"] == 4)
    recorder.close()
    assert event_ids(sqlite) == [b[0].id, a[2].id, b[2].id, c[0].id]


def test_an_event_the_database_rejects_is_dropped_alone(
    sqlite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    good_before, good_after = lifecycle("1" * 32)[0], lifecycle("3" * 32)[0]
    bad = AlertEvent("new", after=state("2" * 32, extra={"not json": {1, 2}}))
    recorder = AlertRecorder(sqlite, SINKS)  # not started: all three go in one batch
    for event in (good_before, bad, good_after):
        recorder.submit(event)
    with caplog.at_level(logging.ERROR):
        recorder.start()
        assert wait_for(lambda: recorder.stats()["pending"] == 0)
        recorder.close()
    assert event_ids(sqlite) == [good_before.id, good_after.id]
    assert recorder.stats()["rejected"] == 1 and recorder.stats()["db_errors"] == 0
    assert f"alert event {bad.id} rejected" in caplog.text


def test_schema_is_created_when_missing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    recorder = AlertRecorder(db, SINKS).start()
    recorder.submit(lifecycle()[0])
    assert wait_for(lambda: recorder.stats()["committed"] == 1)
    recorder.close()


def test_what_is_left_at_shutdown_is_counted_and_logged(
    sqlite: Database, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = AlertRecorder(sqlite, SINKS, retry_initial=0.05).start()
    with locked(sqlite), caplog.at_level(logging.ERROR):
        for event in lifecycle():
            recorder.submit(event)
        recorder.close(timeout=0.5)
    assert recorder.stats()["lost_at_shutdown"] == 3
    assert "3 alert events could not be written" in caplog.text


# ---- PostgreSQL with its connections cut ---------------------------------------------------


class CuttableProxy:
    """A TCP proxy to PostgreSQL on 127.0.0.1 whose connections can be cut and refused."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()  # refused while cut
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._stop = True
        self.cut()
        self.listener.close()


def test_postgres_connection_cut_then_restored_loses_nothing() -> None:
    url = os.environ.get("ATALAIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    parsed = make_url(url)
    require_service("PostgreSQL", parsed.host or "127.0.0.1", parsed.port or 5432)
    server = PostgresServer(url)
    db_url = server.create("atalaia_recorder")
    direct = Database(db_url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    via_proxy = Database(
        make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    )
    try:
        direct.migrate()
        announced: list[str] = []
        recorder = AlertRecorder(
            via_proxy, SINKS, lambda e: announced.append(e.id), retry_initial=0.05, retry_max=0.3
        ).start()
        before = lifecycle("1" * 32)
        for event in before:
            recorder.submit(event)
        assert wait_for(lambda: len(announced) == 3)
        proxy.cut()
        during = [e for i in range(5) for e in lifecycle(f"{i + 2:032x}")]
        for event in during:
            recorder.submit(event)
        assert wait_for(lambda: recorder.stats()["db_errors"] >= 2)
        assert recorder.stats()["pending"] == len(during) and len(announced) == 3
        proxy.restore()
        assert wait_for(lambda: len(announced) == 3 + len(during), 30)
        recorder.close()
        ids = [e.id for e in before + during]
        assert announced == ids and event_ids(direct) == ids
        with direct.session() as session:
            assert session.scalar(select(func.count()).select_from(Delivery)) == 2 * len(ids)
    finally:
        proxy.close()
        via_proxy.dispose()
        direct.dispose()
        server.drop(db_url)
        server.close()
