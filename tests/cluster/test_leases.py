"""Camera leases on the local PostgreSQL, with coordinators in this process.

The balancing arithmetic, the claims of two nodes, pins, a graceful leave, a node cut off
from the database (it must stop its cameras before its leases may be taken) and fencing of
alert writes by lease generation. `test_three_nodes.py` does the same with real processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from atalaia.cluster import ClusterCoordinator, fair_shares
from atalaia.cluster.fencing import Fence
from atalaia.config import CameraConfig, ConfigError, load_config
from atalaia.config.cluster import ClusterConfig
from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.service import camera_store
from atalaia.storage import Database
from atalaia.storage.models import Delivery, EventType
from atalaia.storage.outbox import due_deliveries, record_event
from atalaia.storage.types import utcnow
from tests.pipeline.test_alert_recorder import CuttableProxy, state
from tests.storage.helpers import make_alert


@pytest.fixture
def database(cluster_db_url: str) -> Iterator[Database]:
    db = Database(cluster_db_url)
    db.migrate()
    yield db
    db.dispose()


class Node:
    """A coordinator and the cameras it "runs" (a set: this test is about the leases)."""

    def __init__(self, url: str, node_id: str, **config: float) -> None:
        config = {"renew_interval_s": 1.0, **config}
        self.config = ClusterConfig(enabled=True, node_id=node_id, **config)
        self.coordinator = ClusterCoordinator(self.config, url, "test")
        self.running: set[str] = set()

    def stop(self, camera_id: str) -> None:
        self.running.discard(camera_id)

    def join(self) -> None:
        """Two renewals: registered for an interval, as before a node's first claim."""
        self.coordinator.renew()
        self.coordinator.renew()

    def assign(self, cameras: dict[str, CameraConfig]) -> set[str]:
        self.coordinator.renew()
        view = self.coordinator.assign(cameras, lambda: set(self.running), self.stop)
        self.running |= set(view.held)
        return set(view.held)

    def close(self) -> None:
        self.coordinator.close()
        self.coordinator.store.engine.dispose()


def add_cameras(
    database: Database, count: int, pins: dict[str, str] | None = None
) -> dict[str, CameraConfig]:
    pins = pins or {}
    cameras = {}
    for i in range(count):
        cid = f"cam{i}"
        camera = CameraConfig(id=cid, source={"url": "rtsp://127.0.0.1/x"}, node=pins.get(cid))
        camera_store.save(database, camera)
        cameras[cid] = camera
    return cameras


def owners(database: Database) -> dict[str, str | None]:
    with database.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT camera_id, owner FROM camera_leases WHERE lease_until > now()")
        )
        return {r.camera_id: r.owner for r in rows}


def test_fair_shares_follow_capacity_and_pins() -> None:
    assert fair_shares(12, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 4, "c": 4}
    assert fair_shares(13, {"c": 1, "b": 1, "a": 1}) == {"a": 5, "b": 4, "c": 4}
    assert fair_shares(12, {"a": 1, "b": 2}) == {"a": 4, "b": 8}
    # Eight cameras pinned to a: the other four are shared by b and c.
    assert fair_shares(12, {"a": 1, "b": 1, "c": 1}, {"a": 8}) == {"a": 8, "b": 2, "c": 2}
    assert fair_shares(3, {"a": 1}) == {"a": 3}
    assert fair_shares(0, {"a": 1, "b": 1}) == {"a": 0, "b": 0}


def test_two_nodes_split_the_cameras_and_a_leaving_node_frees_them_at_once(
    database: Database, cluster_db_url: str
) -> None:
    cameras = add_cameras(database, 6)
    a, b = Node(cluster_db_url, "a"), Node(cluster_db_url, "b")
    try:
        a.join()
        b.join()
        held_a = a.assign(cameras)
        held_b = b.assign(cameras)
        assert len(held_a) == 3 and len(held_b) == 3 and not held_a & held_b
        assert owners(database) == {**dict.fromkeys(held_a, "a"), **dict.fromkeys(held_b, "b")}
        # Stable: further passes move nothing.
        assert a.assign(cameras) == held_a and b.assign(cameras) == held_b
        a.coordinator.close()
        a.coordinator.leave()
        assert owners(database) == dict.fromkeys(held_b, "b")  # freed, not left to expire
        assert b.assign(cameras) == set(cameras)
    finally:
        a.close()
        b.close()


def test_a_pinned_camera_runs_only_on_its_node(database: Database, cluster_db_url: str) -> None:
    cameras = add_cameras(database, 4, pins={"cam0": "b"})
    a = Node(cluster_db_url, "a")
    b = Node(cluster_db_url, "b")
    try:
        a.join()
        assert a.assign(cameras) == {"cam1", "cam2", "cam3"}  # b is not there: cam0 waits
        b.join()
        held_b = b.assign(cameras)
        assert "cam0" in held_b
        # The balance counts the pin: b has cam0, a gives one more only if b is below two.
        a.assign(cameras)
        held_b = b.assign(cameras)
        assert owners(database)["cam0"] == "b"
        assert len(held_b) == 2 and len(a.coordinator.held) == 2
    finally:
        a.close()
        b.close()


def test_cameras_owed_to_a_node_that_never_claims_run_elsewhere_until_it_does(
    database: Database, cluster_db_url: str
) -> None:
    cameras = add_cameras(database, 2)
    a = Node(cluster_db_url, "a", lease_s=2.0, renew_interval_s=0.5)
    b = Node(cluster_db_url, "b", lease_s=2.0, renew_interval_s=0.5)
    try:
        a.join()
        b.join()  # registered, but b's passes do not run yet (a node still starting)
        assert len(a.assign(cameras)) == 1  # its share
        deadline = time.monotonic() + 10
        while len(a.coordinator.held) < 2 and time.monotonic() < deadline:
            b.coordinator.renew()
            a.assign(cameras)
            time.sleep(0.25)
        assert set(a.coordinator.held) == set(cameras)  # not left unrun after a lease
        b.coordinator.renew()
        a.assign(cameras)  # b is live and below its share: a gives one back
        assert len(a.coordinator.held) == 1
        assert len(b.assign(cameras)) == 1
    finally:
        a.close()
        b.close()


def test_a_node_cut_off_from_the_database_stops_its_cameras_before_the_lease_ends(
    database: Database, cluster_db_url: str
) -> None:
    cameras = add_cameras(database, 2)
    parsed = make_url(cluster_db_url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    node = Node(via_proxy, "a", lease_s=4.0)
    stopped = threading.Event()
    stopped_at: list[float] = []

    def stop_all() -> None:
        stopped_at.append(time.time())
        node.running.clear()
        stopped.set()

    try:
        node.join()
        assert node.assign(cameras) == set(cameras)
        node.coordinator.start(stop_all, lambda: None)
        time.sleep(1.5)  # renewed by its own thread meanwhile
        assert not stopped.is_set() and node.coordinator.may_run()
        proxy.cut()
        assert stopped.wait(10), "the watchdog never stopped the cameras"
        with database.engine.connect() as conn:
            lease_end = conn.execute(
                text("SELECT min(EXTRACT(EPOCH FROM lease_until)) FROM camera_leases")
            ).scalar_one()
        # Stopped at half the lease: the other half is left for the processes to exit.
        assert stopped_at[0] <= float(lease_end) - 1.0
        assert not node.coordinator.may_run() and node.coordinator.fenced_count == 1
    finally:
        proxy.close()
        node.close()


def test_alert_writes_are_fenced_by_lease_generation(
    database: Database, cluster_db_url: str, tmp_path: Path
) -> None:
    cameras = add_cameras(database, 1)
    a, b = Node(cluster_db_url, "a"), Node(cluster_db_url, "b")
    recorder: AlertRecorder | None = None
    try:
        a.join()
        a.assign(cameras)
        generation = a.coordinator.held["cam0"]
        recorder = AlertRecorder(
            database, ["database"], fence=Fence("a", generation), retry_initial=0.05
        ).start()
        first = state("1" * 32, camera="cam0")
        recorder.submit(AlertEvent("new", after=first, created_at=first.start_time))
        assert wait(lambda: recorder.stats()["committed"] == 1)
        # a leaves, b takes the camera: a's camera process must no longer write.
        a.coordinator.close()
        a.coordinator.leave()
        b.join()
        assert b.assign(cameras) == {"cam0"}
        assert b.coordinator.held["cam0"] == generation + 1
        late = state("2" * 32, camera="cam0")
        recorder.submit(AlertEvent("new", after=late, created_at=late.start_time))
        assert wait(lambda: recorder.stats()["fenced"] == 1)
        assert recorder.stats()["committed"] == 1
        with database.engine.connect() as conn:
            stored = conn.execute(text("SELECT id FROM alerts ORDER BY id")).scalars().all()
        assert stored == ["1" * 32]
    finally:
        if recorder is not None:
            recorder.close()
        a.close()
        b.close()


def test_a_dead_nodes_delivery_claims_are_due_again_at_its_heartbeats_end(
    database: Database, cluster_db_url: str
) -> None:
    """A node killed mid-delivery leaves rows claimed for the outbox lease (a minute); the
    next renewal of a live node after the dead one's heartbeat is a lease old frees them."""
    a = Node(cluster_db_url, "a", lease_s=3.0)
    b = Node(cluster_db_url, "b", lease_s=3.0)
    try:
        a.join()
        b.join()
        with database.session() as session:
            for camera_id in ("cam0", "cam1"):
                record_event(session, make_alert(camera_id), EventType.NEW, {}, ["mqtt"])
        with database.session() as session:
            claimed = due_deliveries(
                session, "mqtt", utcnow(), lease=timedelta(seconds=60), claimer="a"
            )
            assert [d.claimed_by for d in claimed] == ["a", "a"]
        assert b.coordinator.renew().freed_deliveries == {}  # a is alive: its claims stand
        assert _due(database) == 0
        time.sleep(3.5)  # a heartbeats no more
        assert b.coordinator.renew().freed_deliveries == {"a": 2}
        assert _due(database) == 2
        with database.session() as session:
            again = due_deliveries(session, "mqtt", utcnow(), claimer="b")
            assert sorted(d.camera_id for d in again) == ["cam0", "cam1"]
        assert b.coordinator.renew().freed_deliveries == {}  # b's own claims stay b's
    finally:
        a.close()
        b.close()


def _due(database: Database) -> int:
    with database.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.next_attempt_at <= utcnow(), Delivery.claimed_by.is_(None))
            )
            or 0
        )


def test_a_cluster_on_sqlite_is_refused_at_its_key(tmp_path: Path) -> None:
    path = tmp_path / "atalaia.yaml"
    path.write_text("cluster:\n  enabled: true\n  node_id: a\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problem = err.value.problems[0]
    assert problem.path == "cluster.enabled"
    assert "PostgreSQL" in problem.message


def wait(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
