"""Helpers for the capture tests: timeouts, test videos, waiting, counting threads and fds."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# Short timeouts keep the failure tests quick; the bounds in the tests are written in terms of
# these, with slack for a shared, noisy machine.
READ_TIMEOUT = 1.0
OPEN_TIMEOUT = 2.0
SLACK = 1.0


def make_video(path: Path, seconds: float, fps: int = 15, size: str = "320x240") -> Path:
    """An H.264 MP4 of a moving test pattern, made by Debian's ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is needed to make test videos (apt-get install ffmpeg)")
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={size}:rate={fps}",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(fps),
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> float:
    """Seconds until `predicate()` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout:.1f} s")
        time.sleep(step)
    return time.monotonic() - start


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("capture-")]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def udp_sockets() -> int:
    """UDP sockets this process holds (RTP over UDP opens two per stream)."""
    inodes: set[str] = set()
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        if os.path.exists(name):
            with open(name) as table:
                for line in table.readlines()[1:]:
                    fields = line.split()
                    if len(fields) > 9:
                        inodes.add(fields[9])
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count
