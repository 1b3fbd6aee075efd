"""ClusterCoordinator: which cameras this node may run, decided with the others through leases.

Each reconciler pass calls `assign`: one transaction renews this node's heartbeat and leases
and reads the cluster; then the node gives up what it should not hold (its cameras stopped
first, the leases freed after) and claims what it is owed. Balancing has hysteresis: a node
releases a camera only when another live node is below its share and no free camera is there
to fill it, and it releases the cameras it has held longest, so after a failover and the dead
node's return no camera moves twice. A node starts claiming only on its second pass, so nodes
started together see each other before they take anything.

Renewals run in a thread of their own, every `renew_interval_s`, so a pass busy starting
cameras never delays one. Fencing, in time: `may_run()` is true only until half a lease after
the start of the last successful renewal; a watchdog thread stops every camera then, even
while the reconciler is stuck, so a camera is stopped well before another node may claim it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from atalaia.cluster.leases import LeaseStore, NodeInfo, Snapshot, cluster_engine
from atalaia.cluster.shares import fair_shares
from atalaia.config import CameraConfig
from atalaia.config.cluster import ClusterConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseView:
    """This node's leases after a pass: camera id -> generation."""

    held: dict[str, int]


class ClusterCoordinator:
    def __init__(self, config: ClusterConfig, database_url: str, version: str) -> None:
        self.config = config
        self.node_id = config.node_id
        engine = cluster_engine(database_url, statement_timeout_s=config.renew_interval_s)
        node = NodeInfo(config.node_id, config.advertise_url, config.capacity, version)
        self.store = LeaseStore(engine, node, config.lease_s)
        self.held: dict[str, int] = {}
        self.passes = 0
        self.renewals = 0
        self.last_error: str | None = None
        self.fenced_count = 0
        self.freed_deliveries = 0  # dead nodes' delivery claims this node made due
        self._snapshot: Snapshot | None = None
        self._rebalanced_on: Snapshot | None = None
        self._free_since: dict[str, float] = {}  # monotonic time first seen unheld
        self._valid_until = 0.0  # monotonic
        self._lock = threading.Lock()
        self._stop_all: Callable[[], None] | None = None
        self._wake: Callable[[], None] | None = None
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- renewal and time fencing --------------------------------------------------------

    def holds(self, camera_id: str) -> bool:
        with self._lock:
            return camera_id in self.held

    def may_run(self) -> bool:
        with self._lock:
            return time.monotonic() < self._valid_until

    def start(self, stop_all: Callable[[], None], wake: Callable[[], None]) -> None:
        """Renew in a thread of its own, so slow camera starts never delay a renewal; a
        watchdog calls `stop_all` when the leases may lapse. `wake` asks for a pass."""
        self._stop_all, self._wake = stop_all, wake
        for target, name in ((self._renew_loop, "lease-renewal"), (self._watch, "lease-watchdog")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def renew(self) -> Snapshot:
        """Heartbeat and renew once; leases that did not come back are lost."""
        started = time.monotonic()
        with self._lock:
            before = set(self.held)
        try:
            snapshot = self.store.heartbeat_and_renew(len(before), first=self.renewals == 0)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            raise
        with self._lock:
            self._valid_until = started + self.config.stop_after_s
            lost = before - snapshot.renewed.keys()
            for camera_id in lost:
                self.held.pop(camera_id, None)
            self._snapshot = snapshot
        self.renewals += 1
        self.last_error = None
        if lost:
            log.warning("cluster: lease of %s lost", ", ".join(sorted(lost)))
        self.freed_deliveries += sum(snapshot.freed_deliveries.values())
        for node_id, count in sorted(snapshot.freed_deliveries.items()):
            log.warning(
                "cluster: node %s stopped heartbeating; %d delivery claim(s) it held are due again",
                node_id,
                count,
            )
        return snapshot

    def _renew_loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.renew()
                if self._wake is not None:
                    self._wake()
            except Exception as exc:
                log.warning("cluster: cannot renew leases: %s", self.last_error or exc)
            self._closing.wait(self.config.renew_interval_s)

    def _watch(self) -> None:
        while not self._closing.wait(0.2):
            with self._lock:
                lapsed = bool(self.held) and time.monotonic() >= self._valid_until
                if lapsed:
                    lost, self.held = dict(self.held), {}
            if lapsed and self._stop_all is not None:
                self.fenced_count += 1
                log.error(
                    "cluster: leases not renewed for %.1f s (%s); stopping %d camera(s) "
                    "before another node may take them",
                    self.config.stop_after_s,
                    self.last_error or "no answer",
                    len(lost),
                )
                self._stop_all()

    # ---- one pass ------------------------------------------------------------------------

    def assign(
        self,
        cameras: Mapping[str, CameraConfig],
        running: Callable[[], set[str]],
        stop: Callable[[str], None],
    ) -> LeaseView:
        """Release and claim on the latest renewal; returns the leases this node holds now.
        `cameras` are the enabled cameras, `running()` the ones this node runs, `stop(id)`
        stops one (and returns once its process is gone)."""
        with self._lock:
            snapshot = self._snapshot
            held = dict(self.held)
        if snapshot is None:  # not registered yet: run nothing
            snapshot = self.renew()
            with self._lock:
                held = dict(self.held)
        for camera_id in running() - held.keys():
            stop(camera_id)
        # Rebalance once per renewal: the same reading must not make the node give twice.
        rebalance = snapshot is not self._rebalanced_on
        release, claim_count, preferred, candidates = self._plan(cameras, snapshot, held, rebalance)
        for camera_id in release:
            stop(camera_id)
        if release:
            self.store.release(release)
            self._rebalanced_on = snapshot
            with self._lock:
                for camera_id in release:
                    self.held.pop(camera_id, None)
            log.info("cluster: released %s", ", ".join(sorted(release)))
        # Claim only once registered for a full interval: nodes started together first see
        # each other, instead of the first one taking everything.
        if self.renewals >= 2 and claim_count > 0:
            claimed = self.store.claim(candidates, preferred, claim_count)
            if claimed:
                log.info(
                    "cluster: claimed %s",
                    ", ".join(f"{c} (generation {g})" for c, g in sorted(claimed.items())),
                )
            with self._lock:
                self.held.update(claimed)
        self.passes += 1
        with self._lock:
            return LeaseView(dict(self.held))

    def _plan(
        self,
        cameras: Mapping[str, CameraConfig],
        snapshot: Snapshot,
        mine: Mapping[str, int],
        rebalance_allowed: bool,
    ) -> tuple[list[str], int, list[str], list[str]]:
        """(cameras to release, how many to claim, pinned-here candidates, all candidates)."""
        me = self.node_id
        live = dict(snapshot.live)
        live.setdefault(me, self.config.capacity)
        pins = {cid: cam.node for cid, cam in cameras.items() if cam.node is not None}
        runnable = [cid for cid in cameras if pins.get(cid) is None or pins[cid] in live]
        floors: dict[str, int] = {}
        for cid in runnable:
            if cid in pins:
                floors[pins[cid]] = floors.get(pins[cid], 0) + 1
        shares = fair_shares(len(runnable), live, floors)
        # Not ours to run at all: removed, disabled, pinned elsewhere.
        not_ours = [cid for cid in mine if cid not in cameras or pins.get(cid, me) != me]
        kept = [cid for cid in mine if cid not in not_ours]
        held_by: dict[str, int] = {}
        unheld = []
        for cid in runnable:
            lease = snapshot.leases.get(cid)
            if cid in mine:
                held_by[me] = held_by.get(me, 0) + 1
            elif lease is not None and lease.valid and lease.owner not in (None, me):
                held_by[str(lease.owner)] = held_by.get(str(lease.owner), 0) + 1
            else:
                unheld.append(cid)
        share = shares.get(me, 0)
        rebalance: list[str] = []
        if rebalance_allowed and len(kept) > share:
            deficit = sum(max(0, shares[n] - held_by.get(n, 0)) for n in live if n != me)
            free_for_others = sum(1 for cid in unheld if pins.get(cid) != me)
            give = min(len(kept) - share, deficit - free_for_others)
            if give > 0:
                movable = [cid for cid in kept if cid not in pins]
                movable.sort(key=lambda cid: (_claimed_at(snapshot, cid), cid))
                rebalance = movable[:give]  # longest held first
        claim_count = max(0, share - (len(kept) - len(rebalance)))
        preferred = [cid for cid in unheld if pins.get(cid) == me]
        candidates = [cid for cid in unheld if pins.get(cid) in (None, me)]
        # A camera nobody has taken for a whole lease (the node it is owed to registers but
        # does not claim: still starting, or stuck) is run here beyond the share; the
        # balance gives it back once that node claims.
        now = time.monotonic()
        self._free_since = {cid: self._free_since.get(cid, now) for cid in candidates}
        stranded = [
            cid
            for cid in candidates
            if cid not in pins and now - self._free_since[cid] >= self.config.lease_s
        ]
        claim_count = max(claim_count, min(len(stranded), len(candidates)))
        preferred += [cid for cid in stranded if cid not in preferred]
        return not_ours + rebalance, claim_count, preferred, candidates

    # ---- stopping ------------------------------------------------------------------------

    def leave(self) -> None:
        """Free every lease at once (after this node's cameras are stopped)."""
        with self._lock:
            self.held = {}
        try:
            self.store.leave()
            log.info("cluster: node %s left; its leases are free", self.node_id)
        except Exception as exc:
            log.warning("cluster: could not free the leases (they expire on their own): %s", exc)
        self.store.engine.dispose()

    def close(self) -> None:
        """Stop renewing (before `leave`, so no renewal races the release)."""
        self._closing.set()
        for thread in self._threads:
            thread.join(self.config.renew_interval_s + 2)

    def status(self) -> dict[str, Any]:
        with self._lock:
            held = dict(self.held)
            valid_for = max(0.0, self._valid_until - time.monotonic())
            snapshot = self._snapshot
        return {
            "node_id": self.node_id,
            "advertise_url": self.config.advertise_url,
            "capacity": self.config.capacity,
            "leases": held,
            "may_run_for_s": round(valid_for, 3),
            "last_error": self.last_error,
            "fenced": self.fenced_count,
            "renewals": self.renewals,
            "live_nodes": sorted(snapshot.live) if snapshot is not None else [],
            "freed_deliveries": self.freed_deliveries,
        }


def _claimed_at(snapshot: Snapshot, camera_id: str) -> float:
    lease = snapshot.leases.get(camera_id)
    if lease is None or lease.claimed_at is None:
        return 0.0
    return lease.claimed_at.timestamp()
