"""Failover time of a cluster: three `atalaia run` nodes, twelve file cameras, kill -9 x N.

Each round kills one node (in turn) with SIGKILL and measures the time until the survivors
run all twelve cameras (their own `/api/nodes/self`), then restarts it and waits for 4/4/4
again before the next round. Prints p50 and max, and checks the nodes' logs for any camera
that ran on two nodes at once.

Needs the local PostgreSQL (ATALAIA_TEST_POSTGRES_URL, default the test server); a throwaway
database is created and dropped.

    .venv/bin/python -m bench.cluster --kills 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.cluster.support import (
    Node,
    camera_entries,
    cluster_nodes,
    overlaps,
    running_cameras,
    tiny_video,
    wait_for,
)
from tests.storage.conftest import DEFAULT_POSTGRES_URL, PostgresServer

CAMERAS = {f"cam{i:02d}" for i in range(12)}


def covered(nodes: list[Node], count: int | None = None) -> bool:
    """Every camera runs on one of `nodes` (each running `count` if given)."""
    sets = [running_cameras(n) for n in nodes]
    if any(s is None for s in sets):
        return False
    union: set[str] = set().union(*[s for s in sets if s is not None])
    if count is not None and any(s is not None and len(s) != count for s in sets):
        return False
    return union == CAMERAS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease", type=float, default=10.0, help="cluster.lease_s")
    parser.add_argument("--renew", type=float, default=1.0, help="cluster.renew_interval_s")
    args = parser.parse_args()
    server = PostgresServer(os.environ.get("ATALAIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    url = server.create("atalaia_bench_cluster")
    times: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            cameras = camera_entries(tiny_video(root / "tiny.avi"), 12)
            with cluster_nodes(root, url, cameras, lease_s=args.lease) as nodes:
                for node in nodes:
                    node.config["cluster"]["renew_interval_s"] = args.renew
                    node.start()
                if not wait_for(lambda: covered(nodes, 4), 180):
                    raise SystemExit("the cluster never balanced 4/4/4")
                for round_ in range(args.kills):
                    victim = nodes[round_ % len(nodes)]
                    survivors = [n for n in nodes if n is not victim]
                    victim.kill()
                    killed = time.monotonic()
                    if not wait_for(lambda s=survivors: covered(s), 60, 0.1):
                        raise SystemExit(f"round {round_ + 1}: no failover within 60 s")
                    times.append(time.monotonic() - killed)
                    print(f"kill {round_ + 1} ({victim.node_id}): {times[-1]:.1f} s", flush=True)
                    victim.start()
                    if not wait_for(lambda: covered(nodes, 4), 120):
                        raise SystemExit(f"round {round_ + 1}: not 4/4/4 after the restart")
                double = overlaps(nodes)
    finally:
        server.drop(url)
        server.close()
    print(
        f"failover over {len(times)} kills (lease {args.lease} s, renewal every "
        f"{args.renew} s): p50 {statistics.median(times):.1f} s, max {max(times):.1f} s"
    )
    print(f"cameras that ran on two nodes at once: {len(double)}")
    for line in double:
        print("  ", line)


if __name__ == "__main__":
    main()
