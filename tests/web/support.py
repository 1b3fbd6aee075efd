"""Helpers for the browser tests: the service as a user runs it, a webhook that fails once,
a fake webcam file, and where screenshots go."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import httpx
import numpy as np
import yaml

from atalaia.demo import demo_frames

if TYPE_CHECKING:
    from playwright.sync_api import Page

TOKEN = "web-console-test-token-0123456789"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_ENV = "UI_SCREENSHOTS"  # not ATALAIA_*: those configure the service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(cond: Callable[[], Any], timeout: float, step: float = 0.25, what: str = "") -> Any:
    """Poll `cond` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or cond}")
        time.sleep(step)


# ---- a webhook receiver that refuses the first delivery -------------------------------------


@dataclass
class FlakyWebhook:
    """HTTP server on 127.0.0.1 that answers 503 to the first `failures` POSTs, then 200."""

    failures: int = 1
    received: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> FlakyWebhook:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.received.append(dict(self.headers))
                refused = len(owner.received) <= owner.failures
                self.send_response(503 if refused else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# ---- the service ------------------------------------------------------------------------------


@dataclass
class Service:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def service_config(root: Path, port: int, webhook_url: str) -> dict[str, Any]:
    """The demo camera with a person rule over the whole frame, a camera that cannot be
    reached (its password must never show), and a webhook that refuses its first alert."""
    closed = free_port()  # nothing listens there: the camera stays offline
    return {
        "data_dir": str(root / "data"),
        "server": {"host": "127.0.0.1", "port": port, "token": TOKEN},
        "logging": {"console": False, "file": str(root / "atalaia.log")},
        "supervisor": {"heartbeat_interval": 1.0},
        "detectors": {"default": {"type": "onnx", "input_size": 320}},
        "media": {"pre_roll": 1.0, "post_roll": 1.0},
        "cameras": [
            {
                "id": "dock",
                "name": "Loading dock",
                "source": "demo://people",
                "detect": {"fps": 3},
                "rules": [{"type": "object_in_zone", "labels": ["person"], "cooldown": 5}],
            },
            {
                "id": "gate",
                "name": "Main gate",
                "source": {
                    "url": f"rtsp://viewer:gate-secret@127.0.0.1:{closed}/main",
                    "open_timeout": 2,
                },
                "detect": {"fps": 3},
            },
        ],
        "sinks": [
            {"type": "database"},
            {
                "type": "webhook",
                "name": "ops-webhook",
                "url": webhook_url,
                "max_attempts": 1,
                "timeout": 5,
            },
        ],
    }


@contextlib.contextmanager
def run_service(root: Path, webhook_url: str, start_timeout: float = 90.0) -> Iterator[Service]:
    """`atalaia run --config ...` in its own process, as a user starts it; stopped with
    SIGINT (uvicorn's clean shutdown) at the end."""
    port = free_port()
    config = root / "atalaia.yaml"
    config.write_text(yaml.safe_dump(service_config(root, port, webhook_url)))
    log = root / "service.out"
    # ATALAIA_* variables override the configuration: the developer's own must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "atalaia", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    service = Service(f"http://127.0.0.1:{port}", root / "data", root / "atalaia.log", process)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"atalaia run exited with {process.returncode}:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(service.url + "/background/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("atalaia run did not become healthy:\n" + service.log_tail())
            time.sleep(0.3)
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


# ---- a fake webcam ----------------------------------------------------------------------------


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """BGR frames as a YUV4MPEG2 (4:2:0) file: what Chromium's fake capture device plays."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def people_webcam(path: Path) -> Path:
    """A still scene with people (the demo video's first frame, 640x480), five frames at 5 fps
    that Chromium loops: a webcam on a tripod, so boxes and picture match whenever drawn."""
    still = demo_frames(seconds=1.0, fps=5)[0]
    return write_y4m(path, [still] * 5, 5)


# ---- screenshots ------------------------------------------------------------------------------


def screenshot_dir() -> Path | None:
    """Where to keep screenshots for the docs: `UI_SCREENSHOTS=docs/screenshots`."""
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shot(page: Page, name: str) -> None:
    """Keep a screenshot for the docs when UI_SCREENSHOTS names a folder."""
    folder = screenshot_dir()
    if folder is not None:
        page.screenshot(path=str(folder / name))


def image_loaded(page: Page, selector: str, timeout: float = 30_000) -> None:
    """Wait until the first image matching `selector` has loaded a picture."""
    page.wait_for_function(
        "sel => { const img = document.querySelector(sel);"
        " return img && img.complete && img.naturalWidth > 0; }",
        arg=selector,
        timeout=timeout,
    )
