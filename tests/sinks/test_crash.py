"""kill -9 of the process that owns pending deliveries: after a restart every alert arrives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from atalaia.storage.db import Database
from atalaia.storage.models import Delivery, DeliveryStatus
from tests.events.support import new_event, record
from tests.sinks.support import HttpRecorder, Request

ROOT = Path(__file__).resolve().parents[2]
ALERTS = 200


def start_child(db: Database, url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sinks.outbox_child",
            db.engine.url.render_as_string(hide_password=False),
            url,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "running"
    return child


def wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def pending(db: Database) -> int:
    with db.session() as session:
        query = select(func.count()).where(Delivery.status == DeliveryStatus.PENDING)
        return int(session.scalar(query) or 0)


def test_pending_deliveries_survive_kill_9(db: Database) -> None:
    gate = threading.Event()  # the receiver is slow until the kill, so work is left pending
    gate.set()

    def respond(_request: Request) -> tuple[int, object]:
        if gate.is_set():
            time.sleep(0.02)
        return 200, {}

    server = HttpRecorder(respond)
    sent = [new_event(f"cam{i % 4}") for i in range(ALERTS)]
    record(db, sent, ["hook"])
    child = start_child(db, server.url)
    try:
        wait(lambda: len(server.requests) >= 20, 60, "the first deliveries")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        left = pending(db)
        assert left > 0, "nothing was pending at the kill; the test proves nothing"
        got_before = len(server.requests)
        gate.clear()
        child = start_child(db, server.url)
        wait(lambda: pending(db) == 0, 120, "every pending delivery after the restart")
    finally:
        child.kill()
        child.wait(10)
        server.close()
    received = [json.loads(r.body)["id"] for r in server.requests]
    assert set(received) == {e.id for e in sent}
    assert len(received) >= ALERTS and got_before < ALERTS
    # Duplicates (a delivery in flight at the kill) carry the same id; nothing else repeats.
    assert all(n <= 2 for n in Counter(received).values())
    first_seen = list(dict.fromkeys(received))
    for camera in ("cam0", "cam1", "cam2", "cam3"):
        order = [e.id for e in sent if e.camera == camera]
        assert [i for i in first_seen if i in set(order)] == order
