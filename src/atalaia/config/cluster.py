"""The `cluster:` section: several nodes sharing one PostgreSQL and its cameras.

Off by default: one node runs every enabled camera. On, each node registers itself in the
database and runs only the cameras whose lease it holds (see `atalaia.cluster`).
"""

from __future__ import annotations

import socket

from pydantic import Field, model_validator

from atalaia.config.base import StrictModel

NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _default_node_id() -> str:
    """The host name: stable across restarts of one machine, which is what a node id must be."""
    name = socket.gethostname().split(".")[0] or "node"
    cleaned = "".join(c if c.isalnum() or c in "_-" else "-" for c in name)[:64]
    return cleaned if cleaned[:1].isalnum() else f"node-{cleaned}"[:64]


class ClusterConfig(StrictModel):
    """Nodes, camera leases and how fast a dead node's cameras move elsewhere.

    A lease lasts `lease_s` from its last renewal; each node renews every `renew_interval_s`.
    A node that cannot renew stops its cameras once half the lease is gone, so they are
    stopped well before another node may claim them.
    """

    enabled: bool = False
    node_id: str = Field(
        default_factory=_default_node_id,
        pattern=NODE_ID_PATTERN,
        description="this node's name; keep it stable across restarts (default: host name)",
    )
    advertise_url: str | None = Field(
        None, description="where other nodes and users reach this node's API (http://host:port)"
    )
    capacity: float = Field(
        1.0, gt=0, le=10_000, description="share of the cameras, relative to the other nodes"
    )
    lease_s: float = Field(10.0, ge=2, le=600, description="how long a camera lease lasts")
    renew_interval_s: float = Field(
        2.0, gt=0, le=200, description="how often this node renews its leases and heartbeat"
    )

    @model_validator(mode="after")
    def _renew_well_within_lease(self) -> ClusterConfig:
        from atalaia.config.app import KeyedValueError

        if self.renew_interval_s * 3 > self.lease_s:
            raise KeyedValueError(
                ("renew_interval_s",),
                f"expected at most a third of lease_s ({self.lease_s}), so a lease survives "
                f"a missed renewal; got {self.renew_interval_s}",
            )
        if self.advertise_url is not None and not self.advertise_url.startswith(
            ("http://", "https://")
        ):
            raise KeyedValueError(
                ("advertise_url",),
                f"expected an http:// or https:// URL, got {self.advertise_url!r}",
            )
        return self

    @property
    def stop_after_s(self) -> float:
        """Seconds after the last successful renewal at which a node that cannot reach the
        database stops its cameras: half the lease, so stopping them has the other half."""
        return self.lease_s / 2
