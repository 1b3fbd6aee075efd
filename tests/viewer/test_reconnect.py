"""A lost service: the banner within 5 s, the window stays responsive, and it recovers alone."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.viewer.support import (
    beside_ui,
    camera,
    running_service,
    start_service,
    stop_service,
)


def test_killed_service_shows_banner_and_viewer_recovers(
    qtbot: Any, open_viewer: Any, stall_probe: Any, tmp_path: Path
) -> None:
    with running_service(tmp_path, [camera("door", rule=False)]) as service:
        window = open_viewer(service)

        def tile_live() -> bool:
            tile = window.grid.tiles.get("door")
            return tile is not None and tile.frames_shown > 5

        qtbot.waitUntil(tile_live, timeout=90_000)
        assert window.banner.isHidden()
        stall_probe.reset()

        killed_at = time.monotonic()
        service.process.send_signal(signal.SIGKILL)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
        banner_after = time.monotonic() - killed_at
        assert banner_after < 5.0, f"banner after {banner_after:.1f} s"
        assert "Disconnected" in window.banner.text()
        assert service.process.wait(10) == -signal.SIGKILL
        qtbot.wait(3000)  # the window, disconnected, keeps answering (the probe checks)
        assert window.buttons["stop"].isEnabled()  # a click is still taken at once

        port = int(service.url.rsplit(":", 1)[1])
        restarted = beside_ui(qtbot, lambda: start_service(tmp_path, port), timeout=150)
        try:
            qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=30_000)
            shown = window.grid.tiles["door"].frames_shown
            qtbot.waitUntil(
                lambda: window.grid.tiles["door"].frames_shown > shown + 10, timeout=60_000
            )
        finally:
            # The service waits for open live streams when it stops: close the viewer first,
            # and stop the service beside the UI (the probe must not count the test's wait).
            window.shutdown()
            beside_ui(qtbot, lambda: stop_service(restarted), timeout=90)
