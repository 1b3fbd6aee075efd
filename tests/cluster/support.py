"""Real cluster nodes for the tests: `atalaia run` processes on one PostgreSQL database.

Each node has its own port, data directory and log file, as on separate machines. The nodes'
own logs say when each camera started and stopped there ("cluster: running camera x", written
before its process starts, and "cluster: stopped camera x", written after it is gone), which
is what the tests read to check that no camera ever ran on two nodes at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import yaml

from tests.fixtures.cameras import free_port

TOKEN = "cluster-test-token-0123456789abcdef"
_LINE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\].*cluster: (running|stopped) camera (\S+)"
)


def tiny_video(path: Path, seconds: int = 4, fps: int = 2) -> Path:
    """A small, slow file camera: 160x120 at 2 fps is next to nothing for two cores."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (160, 120))
    for i in range(seconds * fps):
        frame = np.full((120, 160, 3), (i * 13) % 255, dtype=np.uint8)
        writer.write(frame)
    writer.release()
    return path


def camera_entries(
    video: Path, count: int, pins: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    pins = pins or {}
    cameras = []
    for i in range(count):
        camera: dict[str, Any] = {
            "id": f"cam{i:02d}",
            "source": {"url": str(video), "loop": True},
            "target_fps": 2,
            "detect": {"enabled": False},
        }
        if camera["id"] in pins:
            camera["node"] = pins[camera["id"]]
        cameras.append(camera)
    return cameras


def node_config(
    root: Path,
    node_id: str,
    port: int,
    database_url: str,
    cameras: list[dict[str, Any]],
    extra_sinks: list[dict[str, Any]] | None = None,
    lease_s: float = 10.0,
    outbox_lease_s: float = 10.0,
) -> dict[str, Any]:
    return {
        "data_dir": str(root / "data"),
        "server": {"host": "127.0.0.1", "port": port, "token": TOKEN},
        "database": {"url": database_url},
        "logging": {"console": False, "file": str(root / "atalaia.log")},
        "supervisor": {"heartbeat_interval": 1.0},
        "detectors": {},
        "realtime": {"enabled": False},
        "monitors": {"camera": {"enabled": False}},
        "cameras": cameras,
        "sinks": [{"type": "database"}, *(extra_sinks or [])],
        # A killed node's claimed deliveries are taken again after this (60 s by default).
        "outbox": {"lease": outbox_lease_s},
        "cluster": {
            "enabled": True,
            "node_id": node_id,
            "advertise_url": f"http://127.0.0.1:{port}",
            "lease_s": lease_s,
            "renew_interval_s": 1.0,
        },
    }


@dataclass
class Node:
    """One `atalaia run` process; `kill()` is kill -9, `start()` starts it again as it was."""

    node_id: str
    root: Path
    config: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    killed_at: list[float] = field(default_factory=list)  # wall-clock times of kill -9

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config['server']['port']}"

    @property
    def log(self) -> Path:
        return self.root / "atalaia.log"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "atalaia.yaml"
        path.write_text(yaml.safe_dump(self.config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
        env["PYTHONUNBUFFERED"] = "1"
        with (self.root / "service.out").open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "atalaia", "run", "--config", str(path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.killed_at.append(time.time())
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(45)
            except subprocess.TimeoutExpired:
                self.kill()

    def status(self) -> dict[str, Any] | None:
        """This node's own view: the cameras its pipeline runs, or None if it does not answer."""
        try:
            response = httpx.get(
                self.url + "/api/nodes/self",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=2,
            )
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("service.out", "atalaia.log"):
            with contextlib.suppress(OSError):
                text += (
                    f"--- {self.node_id} {name}\n"
                    + "\n".join(
                        (self.root / name).read_text(errors="replace").splitlines()[-lines:]
                    )
                    + "\n"
                )
        return text


def running_cameras(node: Node) -> set[str] | None:
    status = node.status()
    return None if status is None else set(status["running"])


def intervals(node: Node) -> list[tuple[str, float, float]]:
    """(camera, start, end) for every time the camera ran on this node, from its own log;
    a camera still running ends now, or at the kill -9 that ended the node."""
    opened: dict[str, float] = {}
    found: list[tuple[str, float, float]] = []
    kills = sorted(node.killed_at)
    lines = node.log.read_text(errors="replace").splitlines() if node.log.exists() else []
    for line in lines:
        match = _LINE.match(line)
        if match is None:
            continue
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        what, camera = match.group(2), match.group(3)
        # A kill -9 between a start and this line ended everything open before it.
        for kill in [k for k in kills if k < stamp]:
            for cam, start in list(opened.items()):
                if start < kill:
                    found.append((cam, start, kill))
                    del opened[cam]
        if what == "running":
            opened[camera] = stamp
        elif camera in opened:
            found.append((camera, opened.pop(camera), stamp))
    end = max([time.time(), *kills])
    for cam, start in opened.items():
        after = [k for k in kills if k > start]
        found.append((cam, start, after[0] if after else end))
    return found


def overlaps(nodes: list[Node]) -> list[str]:
    """Every pair of runs of one camera on two nodes that overlap in time."""
    runs = [(node.node_id, *run) for node in nodes for run in intervals(node)]
    problems = []
    for i, (n1, c1, s1, e1) in enumerate(runs):
        for n2, c2, s2, e2 in runs[i + 1 :]:
            if c1 == c2 and n1 != n2 and s1 < e2 and s2 < e1:
                problems.append(f"{c1} on {n1} [{s1:.3f}, {e1:.3f}] and {n2} [{s2:.3f}, {e2:.3f}]")
    return problems


@contextlib.contextmanager
def cluster_nodes(
    tmp_path: Path, database_url: str, cameras: list[dict[str, Any]], count: int = 3, **kw: Any
) -> Iterator[list[Node]]:
    nodes = []
    for i in range(1, count + 1):
        root, name = tmp_path / f"node{i}", f"node{i}"
        config = node_config(root, name, free_port(), database_url, cameras, **kw)
        nodes.append(Node(name, root, config))
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def wait_for(check: Any, timeout: float, interval: float = 0.5) -> Any:
    """`check()` until it returns something true; that value, or the last one at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
