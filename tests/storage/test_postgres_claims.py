"""Several claimers on one PostgreSQL (several nodes) never share a delivery nor break order."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, EventType
from atalaia.storage.outbox import due_deliveries, mark_delivered, record_event
from tests.storage.conftest import T0
from tests.storage.helpers import make_alert

NOW = T0 + timedelta(seconds=1)


def _record(db: Database, camera_ids: list[str]) -> None:
    with db.session() as session:
        for camera_id in camera_ids:
            record_event(session, make_alert(camera_id), EventType.NEW, {}, ["mqtt"], now=T0)


def _claim_in_thread(db: Database, limit: int) -> list[Delivery] | None:
    """Claim from another thread; None if it was still blocked after a few seconds."""
    result: list[list[Delivery]] = []

    def claim() -> None:
        with db.session() as session:
            result.append(due_deliveries(session, "mqtt", NOW, limit))

    thread = threading.Thread(target=claim, daemon=True)
    thread.start()
    thread.join(timeout=5)
    return result[0] if result else None


def test_a_second_claimer_skips_rows_locked_by_the_first(pg_db: Database) -> None:
    _record(pg_db, [f"cam{i}" for i in range(10)])
    with pg_db.session() as session:
        mine = due_deliveries(session, "mqtt", NOW, 5)
        # Still inside the first claimer's transaction: its rows are locked, not yet leased.
        theirs = _claim_in_thread(pg_db, 10)
    assert theirs is not None, "the second claimer waited for the first instead of skipping"
    assert len(mine) == len(theirs) == 5
    assert not {d.id for d in mine} & {d.id for d in theirs}


def test_a_second_claimer_does_not_overtake_a_locked_head(pg_db: Database) -> None:
    _record(pg_db, ["cam-x", "cam-x", "cam-y"])
    with pg_db.session() as session:
        mine = due_deliveries(session, "mqtt", NOW, 1)
        theirs = _claim_in_thread(pg_db, 10)
    assert [d.camera_id for d in mine] == ["cam-x"]
    assert theirs is not None
    assert [d.camera_id for d in theirs] == ["cam-y"]


def test_concurrent_workers_deliver_everything_once_and_in_order(pg_db: Database) -> None:
    cameras = [f"cam{i}" for i in range(6)]
    _record(pg_db, cameras * 5)
    claims: list[tuple[str, int]] = []
    lock = threading.Lock()
    deadline = threading.Event()

    def worker() -> None:
        while not deadline.is_set():
            with pg_db.session() as session:
                batch = due_deliveries(session, "mqtt", NOW, 2)
                with lock:
                    claims.extend((d.camera_id, d.event_seq) for d in batch)
            if not batch:
                with lock:
                    if len(claims) == 30:
                        return
                continue
            with pg_db.session() as session:
                for delivery in batch:
                    mark_delivered(session, delivery.id, now=NOW)

    timer = threading.Timer(60, deadline.set)
    timer.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            for future in [pool.submit(worker) for _ in range(4)]:
                future.result()
    finally:
        timer.cancel()
    assert not deadline.is_set(), "workers did not finish in time"
    assert sorted(seq for _, seq in claims) == list(range(1, 31))
    per_camera: dict[str, list[int]] = defaultdict(list)
    for camera_id, seq in claims:
        per_camera[camera_id].append(seq)
    assert all(seqs == sorted(seqs) for seqs in per_camera.values())
