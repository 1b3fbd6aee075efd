"""The default detector loads and runs with no network at all.

Two independent locks, both real: the child process runs in a fresh network namespace
(`unshare -rn`: no interface but a downed loopback) when the kernel allows it, and inside it
every way Python opens a connection or resolves a name is replaced by a function that records
the attempt and raises. The child reports what it detected and every attempt; the test wants
the detections and no attempt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import json, socket

    attempts = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network disabled by test ({name})")
        return blocked

    socket.socket.connect = refuse("connect")
    socket.socket.connect_ex = refuse("connect_ex")
    socket.create_connection = refuse("create_connection")
    socket.getaddrinfo = refuse("getaddrinfo")

    import cv2
    from atalaia.config.detectors import OnnxDetectorConfig
    from atalaia.detect import build_detector, sample_image

    detector = build_detector(OnnxDetectorConfig())
    (found,) = detector.detect([cv2.imread(str(sample_image()))])
    print(json.dumps({"names": sorted(found.names), "attempts": attempts}))
    """
)


def _network_namespace_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def _run_child(prefix: list[str]) -> dict[str, list[str]]:
    result = subprocess.run(
        [*prefix, sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _assert_offline_detection(report: dict[str, list[str]]) -> None:
    assert report["attempts"] == []
    assert report["names"].count("person") == 2
    assert report["names"].count("bicycle") == 2
    assert "dog" in report["names"]


def test_detects_with_python_sockets_disabled() -> None:
    _assert_offline_detection(_run_child([]))


def test_detects_inside_an_empty_network_namespace() -> None:
    if not _network_namespace_works():
        pytest.skip("unshare -rn is not permitted here (user namespaces disabled)")
    probe = subprocess.run(
        [
            "unshare",
            "-rn",
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.returncode != 0, "the namespace still reaches the network"
    _assert_offline_detection(_run_child(["unshare", "-rn"]))
