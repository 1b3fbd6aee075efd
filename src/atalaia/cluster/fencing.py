"""Fencing by lease generation: a camera process writes alerts only under its own lease.

Time fencing (the watchdog) stops a node's cameras before their leases can lapse; this is
the second line, for what time cannot promise (a paused process, a clock that jumped): every
alert write checks, in its own transaction, that the camera's lease still names this node
and the generation the camera was started under. The check takes a share lock on the lease
row, so no other node can claim the camera between the check and the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Fence:
    """The lease a camera process was started under."""

    node: str
    generation: int

    @classmethod
    def from_setting(cls, value: object) -> Fence | None:
        """From the camera's settings (`[node, generation]`, or None outside a cluster)."""
        if not isinstance(value, list | tuple) or len(value) != 2:
            return None
        return cls(str(value[0]), int(value[1]))


class LeaseLost(RuntimeError):
    """The camera's lease moved on: its alerts are no longer this process's to write."""


def check_fence(session: Session, camera_id: str, fence: Fence) -> None:
    """Raise `LeaseLost` unless the lease still has `fence`'s node and generation; the row
    stays share-locked until the caller's transaction ends."""
    row = session.execute(
        text("SELECT owner, generation FROM camera_leases WHERE camera_id = :camera FOR SHARE"),
        {"camera": camera_id},
    ).first()
    if row is None or row.owner != fence.node or int(row.generation) != fence.generation:
        holder = "nobody" if row is None or row.owner is None else f"{row.owner}"
        generation = None if row is None else int(row.generation)
        raise LeaseLost(
            f"camera {camera_id}: lease is now {holder} generation {generation}, this process "
            f"runs under {fence.node} generation {fence.generation}"
        )
