"""Viewer tests: pytest-qt on a real X server (Debian's Xvfb), a real service, a stall probe.

Why Xvfb and the `xcb` platform rather than `offscreen`: the viewer is a desktop window, and
under xcb it is mapped, resized, repainted and given input by a real X server, as on a user's
desktop; the screenshots for the docs come from the same runs. Without Xvfb, PySide6 or
pytest-qt the tests are skipped with the reason (CI=true fails instead).

Every test runs with `stall_probe`: a 5 ms timer on the UI thread that records how late it fires,
reset once the window is built; after the test, any stall over `STALL_LIMIT` fails it. The
limit is a freeze, not the issue's 50 ms: on two shared cores the UI thread waits for a CPU
(measured from its schedstat: most of every stall), under Xvfb also for the X server to take
each repaint, and those waits reach 50-230 ms when the cameras' processes and other work hold
the CPU. Anything the viewer itself did on the UI thread (a request: 2-3 s timeouts; a decode
per frame per camera) would exceed it. The issue's 50 ms is measured by
`test_responsiveness` (see there for what holds).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import in_ci
from tests.viewer.support import camera, running_service
from tests.web.support import Service

STALL_LIMIT = 0.250  # a frozen window; see the module's docstring for the 50 ms


def _missing() -> str | None:
    if shutil.which("Xvfb") is None:
        return "Xvfb is missing: install the Debian package `xvfb`"
    for module, package in (("PySide6", "the desktop extra"), ("pytestqt", "pytest-qt")):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module} is missing (install {package})"
    return None


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    problem = _missing()
    if problem is not None:
        if in_ci():
            pytest.fail(f"{problem}; CI must provide it", pytrace=False)
        pytest.skip(problem)
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start", pytrace=False)
    display = f":{number}"
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ["DISPLAY"], os.environ["QT_QPA_PLATFORM"] = display, "xcb"
    yield display
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(5)


if importlib.util.find_spec("pytestqt") is None:

    @pytest.fixture
    def qtbot(xvfb: str) -> None:
        """Without pytest-qt: `xvfb` skips (or fails under CI) naming what is missing."""


@pytest.fixture(scope="session")
def qapp(xvfb: str) -> Any:
    """pytest-qt's application, created only once Xvfb runs."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["atalaia-viewer-tests"])
    return app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "no_ui_loop: the test runs no window and never spins the event loop, so the stall probe"
        " would time the test's own work (building configuration models holds the GIL ~1 s)",
    )


@pytest.fixture(autouse=True)
def stall_probe(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Runs through every viewer test; fails it on a UI stall over STALL_LIMIT."""
    request.getfixturevalue("qapp")
    if request.node.get_closest_marker("no_ui_loop") is not None:
        yield None
        return
    from atalaia.viewer.stall_probe import StallProbe

    probe = StallProbe()
    probe.start()
    yield probe
    probe.stop()
    stalls = probe.stalls_over(STALL_LIMIT)
    assert not stalls, (
        f"UI event loop stalled {len(stalls)} times over {STALL_LIMIT * 1000:.0f} ms,"
        f" worst {probe.worst * 1000:.0f} ms"
    )


@pytest.fixture(scope="session")
def four_cameras(xvfb: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service with four demo cameras, each with a person rule."""
    root: Path = tmp_path_factory.mktemp("viewer-service")
    with running_service(root, [camera(f"cam{i}") for i in range(1, 5)]) as service:
        yield service


@pytest.fixture
def open_viewer(qtbot: Any, stall_probe: Any) -> Iterator[Any]:
    """Opens the viewer's window on a service; at the end stops the probe first (closing
    joins the workers, which is not the UI's steady state), then the window."""
    from atalaia.viewer.window import MainWindow

    windows: list[MainWindow] = []

    def open_on(service: Service, fps: float = 20.0) -> MainWindow:
        from tests.viewer.support import TOKEN

        window = MainWindow(service.url, TOKEN, fps=fps, remember_token=False)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        stall_probe.reset()  # building the first window (fonts, X resources) is not the loop
        return window

    yield open_on
    stall_probe.stop()
    for window in windows:
        window.shutdown()
        window.close()
        window.deleteLater()
