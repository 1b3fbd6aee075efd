"""The window against a running service with four cameras: live grid, status, alerts, clips,
acknowledgement and processing controls, as a person uses them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.viewer.support import TOKEN, AlertRowWatcher, keep_screenshot
from tests.web.support import Service

pytest.importorskip("PySide6", reason="PySide6 is missing (install the desktop extra)")
from PySide6.QtCore import Qt

LIVE_TIMEOUT_MS = 90_000


def _all_live(window: Any, count: int) -> bool:
    tiles = window.grid.tiles.values()
    return len(tiles) == count and all(t.frames_shown >= 3 for t in tiles)


def test_four_cameras_live_at_ten_fps_each(
    qtbot: Any, four_cameras: Service, open_viewer: Any, stall_probe: Any
) -> None:
    window = open_viewer(four_cameras)
    qtbot.waitUntil(lambda: _all_live(window, 4), timeout=LIVE_TIMEOUT_MS)
    qtbot.wait(2000)  # the streams' first second is start-up, not the steady state
    stall_probe.reset()
    before = {cid: tile.frames_shown for cid, tile in window.grid.tiles.items()}
    started = time.monotonic()
    qtbot.wait(6000)
    elapsed = time.monotonic() - started
    fps = {
        cid: (tile.frames_shown - before[cid]) / elapsed for cid, tile in window.grid.tiles.items()
    }
    print(f"frames shown per second: {fps}")  # docs/viewer.md has the figures (pytest -s)
    assert all(rate >= 10.0 for rate in fps.values()), f"frames shown per second: {fps}"
    for tile in window.grid.tiles.values():
        text = tile.status.text()
        assert text.startswith("online"), text
        assert "fps shown" in text and "restarts" in text, text
    assert "alert processing: running" in window.processing.text()
    assert window.host.text().startswith("host: CPU"), window.host.text()


def test_double_click_shows_one_camera_full_size(
    qtbot: Any, four_cameras: Service, open_viewer: Any
) -> None:
    window = open_viewer(four_cameras)
    qtbot.waitUntil(lambda: _all_live(window, 4), timeout=LIVE_TIMEOUT_MS)
    tile = window.grid.tiles["cam2"]
    small = tile.picture.width()
    qtbot.mouseDClick(tile.picture, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tile.picture.width() > 1.5 * small, timeout=5000)
    assert [t.isVisible() for t in window.grid.tiles.values()].count(True) == 1
    shown = tile.frames_shown
    qtbot.waitUntil(lambda: tile.frames_shown > shown + 5, timeout=5000)  # still live
    assert tile.picture.pixmap().width() > 1.5 * small * 0.5  # frames now come at full size
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: all(t.isVisible() for t in window.grid.tiles.values()), timeout=5000)


def test_alert_shows_within_one_second_of_its_row(
    qtbot: Any, four_cameras: Service, open_viewer: Any
) -> None:
    window = open_viewer(four_cameras)
    qtbot.waitUntil(lambda: window.connected is True, timeout=30_000)
    with AlertRowWatcher(four_cameras.data_dir / "atalaia.db") as watcher:
        qtbot.waitUntil(lambda: len(watcher.new_alerts()) >= 3, timeout=120_000)
        created = watcher.new_alerts()
        qtbot.waitUntil(lambda: all(a in window.alerts.shown for a in created), timeout=5000)
    delays = {a: window.alerts.shown[a] - t for a, t in created.items()}
    assert max(delays.values()) < 1.0, f"seconds from database row to viewer: {delays}"
    newest = window.alerts.list.item(0).text()
    assert "person_on_path" in newest and "zone path" in newest, newest
    assert any(
        window.alerts.list.item(i).icon().availableSizes()
        for i in range(window.alerts.list.count())
    ), "no alert shows its snapshot"
    qtbot.wait(500)
    keep_screenshot(window, "viewer.png")


def test_alert_clip_plays_and_keypress_acknowledges(
    qtbot: Any, four_cameras: Service, open_viewer: Any
) -> None:
    window = open_viewer(four_cameras)
    alerts = window.alerts

    def alert_with_clip() -> int | None:
        for row in range(alerts.list.count()):
            if alerts.list.item(row).data(Qt.ItemDataRole.UserRole).has_clip:
                return row
        return None

    qtbot.waitUntil(lambda: alert_with_clip() is not None, timeout=120_000)
    row = alert_with_clip()
    assert row is not None
    item = alerts.list.item(row)
    alerts.list.scrollToItem(item)
    rect = alerts.list.visualItemRect(item)
    qtbot.mouseClick(alerts.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.clip_player is not None, timeout=5000)
    player = window.clip_player
    try:
        qtbot.waitUntil(lambda: player.frames_shown >= 5, timeout=20_000)
    except Exception:
        raise AssertionError(f"clip not playing: {player.picture.text()!r}") from None
    player.close()

    waiting = len(alerts.shown) - len(alerts.acknowledged)
    alerts.list.setCurrentItem(item)
    alerts.list.setFocus()
    qtbot.keyClick(alerts.list, Qt.Key.Key_Space)
    assert item.text().startswith("✓ ")
    assert f"{waiting - 1} unacknowledged" in alerts.header.text()


def test_processing_stop_and_start_from_the_window(
    qtbot: Any, four_cameras: Service, open_viewer: Any
) -> None:
    window = open_viewer(four_cameras)
    qtbot.waitUntil(lambda: "running" in window.processing.text(), timeout=30_000)
    qtbot.mouseClick(window.buttons["stop"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "alert processing: stopped" in window.processing.text(), timeout=60_000)
    qtbot.mouseClick(window.buttons["start"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "alert processing: running" in window.processing.text(), timeout=60_000)
    qtbot.waitUntil(lambda: window.buttons["start"].isEnabled(), timeout=10_000)
    qtbot.waitUntil(lambda: _all_live(window, 4), timeout=LIVE_TIMEOUT_MS)


def test_atalaia_viewer_command_runs_with_the_token_from_the_environment(
    qtbot: Any, four_cameras: Service, xvfb: str
) -> None:
    """`atalaia viewer` as a user starts it: token in ATALAIA_VIEWER_TOKEN, nothing on the
    command line; it stays up, connected, with no error, until it is closed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
    env.update(ATALAIA_VIEWER_TOKEN=TOKEN, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    viewer = subprocess.Popen(
        [sys.executable, "-m", "atalaia", "viewer", "--url", four_cameras.url, "--stall-probe"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        qtbot.wait(8000)
        assert viewer.poll() is None, viewer.communicate()[0].decode(errors="replace")
    finally:
        viewer.terminate()
        output = viewer.communicate(timeout=20)[0].decode(errors="replace")
    assert "Traceback" not in output, output
