"""A node cut off from PostgreSQL stops its cameras before another node may take them.

Two real nodes; node1 reaches the database through a proxy that the test cuts. node1 must
stop its cameras (half a lease after its last renewal), node2 take them once the leases
lapse, and the logs of both must show no moment where one camera ran on both. When the
proxy is back, node1 rejoins and gets its share again.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.cluster.support import camera_entries, cluster_nodes, overlaps, running_cameras, wait_for
from tests.pipeline.test_alert_recorder import CuttableProxy


def test_a_node_without_the_database_stops_its_cameras_first(
    tmp_path: Path, cluster_db_url: str, video: Path
) -> None:
    parsed = make_url(cluster_db_url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    cameras = camera_entries(video, 4)
    try:
        with cluster_nodes(tmp_path, cluster_db_url, cameras, count=2, lease_s=6.0) as nodes:
            cut_off, other = nodes
            cut_off.config["database"]["url"] = parsed.set(
                host="127.0.0.1", port=proxy.port
            ).render_as_string(False)
            for node in nodes:
                node.start()

            def split() -> bool:
                sets = [running_cameras(n) for n in nodes]
                return all(s is not None and len(s) == 2 for s in sets)

            assert wait_for(split, 120), "\n".join(n.tail() for n in nodes)
            proxy.cut()
            cut_at = time.monotonic()
            assert wait_for(lambda: running_cameras(cut_off) == set(), 10, 0.1), cut_off.tail()
            stopped_after = time.monotonic() - cut_at
            assert wait_for(lambda: len(running_cameras(other) or ()) == 4, 20, 0.1), other.tail()
            print(
                f"cut off: stopped its cameras after {stopped_after:.1f} s, "
                f"taken over after {time.monotonic() - cut_at:.1f} s"
            )
            assert not overlaps(nodes), overlaps(nodes)
            proxy.restore()
            assert wait_for(split, 60), "\n".join(n.tail() for n in nodes)
            assert not overlaps(nodes), overlaps(nodes)
    finally:
        proxy.close()
