"""CameraMonitor against real sockets on 127.0.0.1 and real files (no traffic leaves loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atalaia.config.cameras import CameraConfig, SourceConfig
from atalaia.config.monitors import CameraMonitorConfig
from atalaia.monitors import CameraMonitor
from atalaia.monitors.base import ThreadedMonitor
from tests.monitors.support import Blackhole, Listener, closed_port, wait_until

Changes = list[tuple[str, bool, str]]


def camera(cam_id: str, url: str, enabled: bool = True) -> CameraConfig:
    return CameraConfig(id=cam_id, enabled=enabled, source=SourceConfig(url=url))


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def make_monitor(
    stop_after: Callable[[ThreadedMonitor], ThreadedMonitor], tmp_path: Path
) -> Callable[..., tuple[CameraMonitor, Changes]]:
    def make(
        cameras: list[CameraConfig], interval: float = 0.2, timeout: float = 1.0
    ) -> tuple[CameraMonitor, Changes]:
        changes: Changes = []
        monitor = CameraMonitor(
            CameraMonitorConfig(interval=interval, timeout=timeout, max_workers=4),
            cameras,
            data_dir=tmp_path,
            on_change=lambda cam, ok, why: changes.append((cam, ok, why)),
        )
        stop_after(monitor)
        return monitor, changes

    return make


def state_of(monitor: CameraMonitor, cam_id: str) -> bool | None:
    return monitor.snapshot().cameras[cam_id].reachable


def test_open_port_reachable_closed_port_not_and_changes_reported_once(
    listener: Listener, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    refused = closed_port()
    monitor, changes = make_monitor(
        [
            camera("up", f"rtsp://127.0.0.1:{listener.port}/live"),
            camera("down", f"http://127.0.0.1:{refused}/mjpeg"),
        ]
    )
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().cameras["up"].checks >= 3, 5)
    assert wait_until(lambda: monitor.snapshot().cameras["down"].checks >= 3, 5)
    up = monitor.snapshot().cameras["up"]
    down = monitor.snapshot().cameras["down"]
    assert up.reachable is True and up.latency_ms is not None and up.latency_ms >= 0
    assert up.target == f"127.0.0.1:{listener.port}"
    assert down.reachable is False and down.last_error is not None
    assert "refused" in down.last_error.lower()
    assert sorted((cam, ok) for cam, ok, _ in changes) == [("down", False), ("up", True)]

    listener.close()
    assert wait_until(lambda: state_of(monitor, "up") is False, 5)
    changed_at = monitor.snapshot().cameras["up"].changed_at
    checks = monitor.snapshot().cameras["up"].checks
    assert wait_until(lambda: monitor.snapshot().cameras["up"].checks >= checks + 3, 5)
    assert [(cam, ok) for cam, ok, _ in changes if cam == "up"] == [("up", True), ("up", False)]
    assert len(changes) == 3
    assert monitor.snapshot().cameras["up"].changed_at == changed_at


def test_a_host_that_never_answers_does_not_delay_the_others(
    listener: Listener, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    hole = Blackhole()
    try:
        monitor, _ = make_monitor(
            [
                camera("slow", f"rtsp://127.0.0.1:{hole.port}/live"),
                camera("fast", f"rtsp://127.0.0.1:{listener.port}/live"),
            ],
            interval=0.2,
            timeout=2.0,
        )
        started = time.monotonic()
        monitor.start()
        # several rounds of the fast camera while the slow check is still hanging
        assert wait_until(lambda: monitor.snapshot().cameras["fast"].checks >= 3, 1.9)
        slow = monitor.snapshot().cameras["slow"]
        assert slow.reachable is None and slow.checks == 0  # its first check still runs
        assert wait_until(lambda: state_of(monitor, "slow") is False, 5)
        assert time.monotonic() - started >= 2.0  # it did wait out its timeout
        slow = monitor.snapshot().cameras["slow"]
        assert slow.reason is not None and "no answer within 2 s" in slow.reason
        assert monitor.snapshot().cameras["fast"].reachable is True
    finally:
        hole.close()


def test_passwords_never_appear_in_snapshots(
    listener: Listener, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    monitor, changes = make_monitor(
        [
            camera("cam", f"rtsp://admin:S3cr3tPassw0rd@127.0.0.1:{listener.port}/live"),
            camera("bad", f"rtsp://admin:An0therS3cret@127.0.0.1:{closed_port()}/live"),
        ]
    )
    monitor.start()
    assert wait_until(lambda: len(changes) == 2, 5)
    text = str(monitor.snapshot().as_dict()) + str(changes)
    assert "S3cr3tPassw0rd" not in text and "An0therS3cret" not in text
    assert (
        monitor.snapshot().cameras["cam"].url == f"rtsp://admin:***@127.0.0.1:{listener.port}/live"
    )


def test_files_demo_devices_and_unprobeable_sources(
    tmp_path: Path, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video, but a file that exists")
    monitor, changes = make_monitor(
        [
            camera("file", f"file://{video}"),
            camera("path", str(video)),
            camera("missing", str(tmp_path / "gone.mp4")),
            camera("demo", "demo://people"),
            camera("usb", "/dev/video7"),
            camera("udp", "udp://127.0.0.1:5000"),
            camera("off", str(video), enabled=False),
        ]
    )
    monitor.start()
    assert wait_until(lambda: len(changes) == 5, 5)
    cams = monitor.snapshot().cameras
    assert "off" not in cams
    assert cams["file"].reachable is True and cams["path"].reachable is True
    assert cams["missing"].reachable is False and "no such file" in str(cams["missing"].reason)
    assert cams["demo"].reachable is False  # the demo video is not made yet
    assert cams["usb"].reachable is False and "no such device" in str(cams["usb"].reason)
    assert cams["udp"].kind == "unchecked" and cams["udp"].reachable is None

    demo = tmp_path / "demo" / "people.mp4"
    demo.parent.mkdir()
    demo.write_bytes(b"made at start-up by the BackgroundManager")
    assert wait_until(lambda: state_of(monitor, "demo") is True, 5)
    assert ("demo", True) in [(cam, ok) for cam, ok, _ in changes]


def test_set_cameras_applies_live_and_keeps_unchanged_state(
    listener: Listener, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    first = camera("a", f"rtsp://127.0.0.1:{listener.port}/live")
    monitor, changes = make_monitor([first], interval=60.0)
    monitor.start()
    assert wait_until(lambda: state_of(monitor, "a") is True, 5)
    since = monitor.snapshot().cameras["a"].changed_at

    # a long interval: only the nudge of set_cameras can get the new camera checked this soon
    monitor.set_cameras([first, camera("b", f"http://127.0.0.1:{closed_port()}/")])
    assert wait_until(lambda: state_of(monitor, "b") is False, 3)
    assert monitor.snapshot().cameras["a"].changed_at == since
    assert [(cam, ok) for cam, ok, _ in changes] == [("a", True), ("b", False)]

    monitor.set_cameras([camera("b", f"http://127.0.0.1:{listener.port}/")])
    assert wait_until(lambda: state_of(monitor, "b") is True, 3)
    assert set(monitor.snapshot().cameras) == {"b"}


def test_disabled_monitor_runs_nothing(tmp_path: Path) -> None:
    monitor = CameraMonitor(CameraMonitorConfig(enabled=False), [], data_dir=tmp_path)
    monitor.start()
    assert not monitor.running
    assert monitor.snapshot().state == "disabled"
    assert monitor.stop(1)


def test_start_after_a_stop_that_timed_out_waits_for_the_old_checks(
    listener: Listener, make_monitor: Callable[..., tuple[CameraMonitor, Changes]]
) -> None:
    hole = Blackhole()
    try:
        monitor, _ = make_monitor(
            [
                camera("slow", f"rtsp://127.0.0.1:{hole.port}/live"),
                camera("fast", f"rtsp://127.0.0.1:{listener.port}/live"),
            ],
            timeout=1.0,
        )
        monitor.start()
        # a second round of the fast camera: the slow check is surely hanging by now
        assert wait_until(lambda: monitor.snapshot().cameras["fast"].checks >= 2, 3)
        assert not monitor.stop(0.05)  # the slow check still hangs in connect
        started = time.monotonic()
        monitor.start()  # waits for the old run instead of overlapping it
        assert time.monotonic() - started < 3
        assert monitor.running
        assert wait_until(lambda: state_of(monitor, "slow") is False, 5)
    finally:
        hole.close()
