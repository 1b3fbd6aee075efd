"""Three real `atalaia run` nodes on one PostgreSQL share twelve file cameras.

Balanced 4/4/4, and every node's console (Chromium) shows all twelve cameras with the node
running each, and the three nodes; a node killed with -9 has its cameras taken over by the
others within 15 s; restarted, it gets its share back with no camera moving more than once
(over the failover and the return together); and the nodes' own logs show that no camera
ever ran on two nodes at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.cluster.consoles import check_every_console
from tests.cluster.support import (
    TOKEN,
    Node,
    camera_entries,
    cluster_nodes,
    intervals,
    overlaps,
    running_cameras,
    wait_for,
)
from tests.web.conftest import browser_available  # noqa: F401 (fixture)

CAMERAS = {f"cam{i:02d}" for i in range(12)}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def assignment(nodes: list[Node]) -> dict[str, set[str]] | None:
    """Each answering node's running cameras; None while one of them does not answer."""
    found = {}
    for node in nodes:
        running = running_cameras(node)
        if running is None:
            return None
        found[node.node_id] = running
    return found


def balanced(nodes: list[Node]) -> dict[str, set[str]] | None:
    current = assignment(nodes)
    if current is None or any(len(c) != 4 for c in current.values()):
        return None
    return current if set().union(*current.values()) == CAMERAS else None


def describe(nodes: list[Node]) -> str:
    return "\n".join(node.tail(25) for node in nodes)


@pytest.mark.usefixtures("browser_available")
def test_three_nodes_balance_fail_over_and_rejoin(
    tmp_path: Path, cluster_db_url: str, video: Path
) -> None:
    with cluster_nodes(tmp_path, cluster_db_url, camera_entries(video, 12)) as nodes:
        for node in nodes:
            node.start()
        assert wait_for(lambda: assignment(nodes), 120), describe(nodes)
        started = time.monotonic()
        first = wait_for(lambda: balanced(nodes), 30)
        assert first, f"not 4/4/4 within 30 s: {assignment(nodes)}\n{describe(nodes)}"
        print(f"balanced 4/4/4 {time.monotonic() - started:.1f} s after all nodes answered")
        owner = {camera: node for node, cams in first.items() for camera in cams}
        for node in nodes:  # any node answers for the whole site
            with httpx.Client(base_url=node.url, headers=AUTH, timeout=5) as client:
                site = client.get("/api/nodes/cameras").json()
                assert {c["camera"]: c["node"] for c in site} == owner
                listed = {n["id"]: n for n in client.get("/api/nodes").json()}
                metrics = client.get("/metrics").text
            assert set(listed) == set(first)
            assert f'atalaia_cluster_leases_held{{node="{node.node_id}"}} 4.0' in metrics
            assert f'atalaia_cluster_live_nodes{{node="{node.node_id}"}} 3.0' in metrics
            assert f'atalaia_cluster_renewal_ok{{node="{node.node_id}"}} 1.0' in metrics
            assert all(n["live"] and set(n["cameras"]) == first[i] for i, n in listed.items())
        check_every_console(nodes)

        victim, survivors = nodes[0], nodes[1:]
        orphans = first[victim.node_id]
        victim.kill()
        killed = time.monotonic()

        def taken_over() -> bool:
            current = assignment(survivors)
            return current is not None and set().union(*current.values()) == CAMERAS

        assert wait_for(taken_over, 15, 0.2), (
            f"{sorted(orphans)} not taken over within 15 s: {assignment(survivors)}\n"
            + describe(nodes)
        )
        print(f"failover after kill -9: {time.monotonic() - killed:.1f} s")
        after_failover = assignment(survivors)
        assert after_failover is not None
        assert sorted(len(c) for c in after_failover.values()) == [6, 6]

        rejoin_at = time.time()
        victim.start()
        rebalanced = wait_for(lambda: balanced(nodes), 60)
        assert rebalanced, f"not 4/4/4 after the restart: {assignment(nodes)}\n{describe(nodes)}"
        time.sleep(3)  # a few more renewals: nothing may move once balanced
        assert balanced(nodes) == rebalanced

        starts_after_rejoin: dict[str, int] = {}
        for node in nodes:
            for camera, start, _end in intervals(node):
                if start >= rejoin_at:
                    starts_after_rejoin[camera] = starts_after_rejoin.get(camera, 0) + 1
        assert all(n <= 1 for n in starts_after_rejoin.values()), starts_after_rejoin
        assert sum(starts_after_rejoin.values()) == 4  # exactly the restarted node's share
        # Over the failover and the return together: the survivors kept the cameras they took
        # over and gave the returning node cameras they had held longest, so none moved twice.
        kill_at = victim.killed_at[0]
        starts_after_kill: dict[str, int] = {}
        for node in nodes:
            for camera, start, _end in intervals(node):
                if start >= kill_at:
                    starts_after_kill[camera] = starts_after_kill.get(camera, 0) + 1
        assert all(n == 1 for n in starts_after_kill.values()), starts_after_kill
        assert set(starts_after_kill) & orphans == orphans and len(starts_after_kill) == 8
        assert not overlaps(nodes), overlaps(nodes)
