"""The SQL of the cluster: node heartbeats and camera leases, on PostgreSQL only.

Every time is the database's `now()`, never a node's clock, so nodes whose clocks disagree
still agree on who holds what. Leases are claimed with `FOR UPDATE SKIP LOCKED` (two nodes
claiming at once take different cameras, neither waits) and renewed only while unexpired (a
lease that lapsed is lost, even if nobody took it yet: the next claim bumps its generation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class NodeInfo:
    """What this node tells the others about itself on each heartbeat."""

    id: str
    advertise_url: str | None
    capacity: float
    version: str


@dataclass(frozen=True)
class LeaseRow:
    camera_id: str
    owner: str | None
    valid: bool  # owned and not expired
    generation: int
    claimed_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    """One consistent reading: the leases this node renewed, live nodes, every lease."""

    renewed: dict[str, int]  # camera id -> generation
    live: dict[str, float]  # node id -> capacity
    leases: dict[str, LeaseRow]
    freed_deliveries: dict[str, int] = field(default_factory=dict)  # dead node -> rows freed


def cluster_engine(url: str, statement_timeout_s: float) -> Engine:
    """An engine of its own whose every call gives up quickly: a renewal that hangs on a
    dead database must not hold the node past the moment it has to stop its cameras."""
    timeout_ms = max(int(statement_timeout_s * 1000), 100)
    return create_engine(
        make_url(url),
        pool_pre_ping=True,
        pool_size=2,
        pool_timeout=statement_timeout_s,
        connect_args={
            "connect_timeout": max(int(statement_timeout_s), 1),
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
        },
    )


class LeaseStore:
    def __init__(self, engine: Engine, node: NodeInfo, lease_s: float) -> None:
        self.engine = engine
        self.node = node
        self.lease = f"{float(lease_s)} seconds"

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {"me": self.node.id, "lease": self.lease, **extra}

    def heartbeat_and_renew(self, held: int, first: bool) -> Snapshot:
        """Register or refresh this node, make a lease row for every camera, drop this node's
        lapsed leases, renew the others; then read live nodes and all leases."""
        node = self.node
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO cluster_nodes (id, advertise_url, capacity, version, state,"
                    " started_at, heartbeat_at, cameras)"
                    " VALUES (:me, :url, :capacity, :version, 'running', now(), now(), :held)"
                    " ON CONFLICT (id) DO UPDATE SET advertise_url = :url, capacity = :capacity,"
                    " version = :version, state = 'running', heartbeat_at = now(),"
                    " cameras = :held, started_at = CASE WHEN :first"
                    " THEN now() ELSE cluster_nodes.started_at END"
                ),
                self._params(
                    url=node.advertise_url,
                    capacity=node.capacity,
                    version=node.version,
                    held=held,
                    first=first,
                ),
            )
            conn.execute(
                text(
                    "INSERT INTO camera_leases (camera_id, generation)"
                    " SELECT id, 0 FROM cameras ON CONFLICT (camera_id) DO NOTHING"
                )
            )
            conn.execute(
                text(
                    "UPDATE camera_leases SET owner = NULL, lease_until = NULL"
                    " WHERE owner = :me AND lease_until <= now()"
                ),
                self._params(),
            )
            renewed = conn.execute(
                text(
                    "UPDATE camera_leases SET lease_until = now() + CAST(:lease AS interval)"
                    " WHERE owner = :me RETURNING camera_id, generation"
                ),
                self._params(),
            )
            mine = {str(r.camera_id): int(r.generation) for r in renewed}
            freed = self._free_claims_of_dead_nodes(conn)
            live = self._live(conn)
            leases = self._leases(conn)
        return Snapshot(mine, live, leases, freed)

    def _free_claims_of_dead_nodes(self, conn: Connection) -> dict[str, int]:
        """Make due at once the outbox deliveries claimed by a node whose heartbeat is older
        than a lease: it died mid-delivery, and its claims would otherwise wait out the outbox
        lease (a minute by default). A node that is merely slow may then send one twice; the
        event id stays the same, as for any at-least-once delivery."""
        rows = conn.execute(
            text(
                "WITH dead AS (SELECT id, claimed_by FROM deliveries"
                " WHERE status = 'pending' AND claimed_by IS NOT NULL AND NOT EXISTS ("
                " SELECT 1 FROM cluster_nodes n WHERE n.id = deliveries.claimed_by"
                " AND n.heartbeat_at > now() - CAST(:lease AS interval))"
                " FOR UPDATE SKIP LOCKED)"
                " UPDATE deliveries SET next_attempt_at = now(), claimed_by = NULL"
                " FROM dead WHERE deliveries.id = dead.id RETURNING dead.claimed_by"
            ),
            self._params(),
        )
        return dict(Counter(str(r[0]) for r in rows))

    def _live(self, conn: Connection) -> dict[str, float]:
        rows = conn.execute(
            text(
                "SELECT id, capacity FROM cluster_nodes WHERE state = 'running'"
                " AND heartbeat_at > now() - CAST(:lease AS interval)"
            ),
            self._params(),
        )
        return {str(r.id): float(r.capacity) for r in rows}

    def _leases(self, conn: Connection) -> dict[str, LeaseRow]:
        rows = conn.execute(
            text(
                "SELECT camera_id, owner, generation, claimed_at,"
                " (owner IS NOT NULL AND lease_until > now()) AS valid FROM camera_leases"
            )
        )
        return {
            str(r.camera_id): LeaseRow(
                str(r.camera_id), r.owner, bool(r.valid), int(r.generation), r.claimed_at
            )
            for r in rows
        }

    def release(self, camera_ids: Collection[str]) -> None:
        """Give up leases this node holds (its cameras are already stopped)."""
        if not camera_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE camera_leases SET owner = NULL, lease_until = NULL"
                    " WHERE owner = :me AND camera_id = ANY(:ids)"
                ),
                self._params(ids=list(camera_ids)),
            )

    def claim(
        self, candidates: list[str], preferred: Collection[str], count: int
    ) -> dict[str, int]:
        """Take up to `count` of `candidates` that nobody holds (or whose lease lapsed),
        `preferred` first; rows another node is claiming right now are skipped, not waited
        for. Returns camera id -> the new generation."""
        if count <= 0 or not candidates:
            return {}
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT camera_id FROM camera_leases WHERE camera_id = ANY(:ids)"
                    " AND (owner IS NULL OR lease_until <= now())"
                    " ORDER BY (camera_id = ANY(:preferred)) DESC, camera_id"
                    " LIMIT :count FOR UPDATE SKIP LOCKED"
                ),
                self._params(ids=candidates, preferred=list(preferred), count=count),
            )
            got = [str(r.camera_id) for r in rows]
            if not got:
                return {}
            claimed = conn.execute(
                text(
                    "UPDATE camera_leases SET owner = :me, generation = generation + 1,"
                    " lease_until = now() + CAST(:lease AS interval), claimed_at = now()"
                    " WHERE camera_id = ANY(:ids) RETURNING camera_id, generation"
                ),
                self._params(ids=got),
            )
            return {str(r.camera_id): int(r.generation) for r in claimed}

    def leave(self) -> None:
        """A graceful stop: every lease of this node freed at once, the node marked stopped."""
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE camera_leases SET owner = NULL, lease_until = NULL WHERE owner = :me"),
                self._params(),
            )
            conn.execute(
                text("UPDATE cluster_nodes SET state = 'stopped', cameras = 0 WHERE id = :me"),
                self._params(),
            )
