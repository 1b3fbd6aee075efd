"""Starts the viewer: the Qt application, the token (asked for when nothing gave one), the
window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from atalaia.viewer import token_store
from atalaia.viewer.stall_probe import StallProbe
from atalaia.viewer.window import MainWindow


def ask_token(url: str) -> str | None:
    token, ok = QInputDialog.getText(
        None, "atalaia viewer", f"API token for {url}:", QLineEdit.EchoMode.Password
    )
    return token.strip() if ok and token.strip() else None


def broken_pyside() -> str | None:
    """PySide6 6.12.0's `Signal.emit()` returns `True` without taking a reference to it; every
    emit lowers the count, and the interpreter aborts ("deallocating True or False") after a
    few thousand signals: minutes of live video. 6.11 is fine."""
    import PySide6

    if tuple(PySide6.__version_info__[:2]) == (6, 12):
        return f"PySide6 {PySide6.__version__} aborts after a few thousand signals; use < 6.12"
    return None


def run_viewer(url: str, token: str | None, fps: float, stall_probe: bool = False) -> int:
    problem = broken_pyside()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("atalaia viewer")
    token = token_store.token_from(token, url) or ask_token(url)
    if not token:
        print("no API token: pass --token, set ATALAIA_VIEWER_TOKEN or type it", file=sys.stderr)
        return 2
    window = MainWindow(url, token, fps=fps)
    if stall_probe:
        probe = StallProbe(parent=window)
        probe.start()

        def show_worst() -> None:
            window.statusBar().showMessage(f"worst UI stall: {probe.worst * 1000:.0f} ms")

        from PySide6.QtCore import QTimer

        timer = QTimer(window, interval=1000)
        timer.timeout.connect(show_worst)
        timer.start()
    window.show()
    code = app.exec()
    return int(code)
