"""Start and stop act on the whole site, from any node (the API, and the console's buttons);
a graceful stop frees leases at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.cluster.consoles import site_control_from_console
from tests.cluster.support import TOKEN, camera_entries, cluster_nodes, running_cameras, wait_for
from tests.web.conftest import browser_available  # noqa: F401 (fixture)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.usefixtures("browser_available")
def test_stop_and_start_from_one_node_act_on_every_node(
    tmp_path: Path, cluster_db_url: str, video: Path
) -> None:
    with cluster_nodes(tmp_path, cluster_db_url, camera_entries(video, 4), count=2) as nodes:
        for node in nodes:
            node.start()

        def split() -> bool:
            sets = [running_cameras(n) for n in nodes]
            return all(s is not None and len(s) == 2 for s in sets)

        assert wait_for(split, 120), "\n".join(n.tail() for n in nodes)
        first, second = nodes
        with httpx.Client(base_url=first.url, headers=AUTH, timeout=90) as client:
            answer = client.post("/api/nodes/background/stop").json()["nodes"]
            assert set(answer) == {"node1", "node2"}
            assert all(a["changed"] and a["status"]["is_running"] is False for a in answer.values())
            # Stopped gracefully: every lease freed when the call returns, none left to expire.
            assert all(c["node"] is None for c in client.get("/api/nodes/cameras").json())
            nodes_listed = client.get("/api/nodes").json()
            assert {n["state"] for n in nodes_listed} == {"stopped"}
        assert running_cameras(first) == set() and running_cameras(second) == set()
        # The other node's console starts the whole site again with its Start button.
        site_control_from_console(second, "start", len(nodes))
        assert wait_for(split, 60), "\n".join(n.tail() for n in nodes)
