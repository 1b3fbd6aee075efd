"""HTTP sources that are not MJPEG: an HLS playlist, and an MPEG-TS stream over plain HTTP (the
MJPEG reader sees it is not multipart and hands it to PyAV)."""

from __future__ import annotations

import functools
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from atalaia.capture import CameraReader, CameraState
from atalaia.config.cameras import SourceConfig


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return  # readers hang up mid-file when a test ends; that is expected


@pytest.fixture(scope="module")
def web_root(tmp_path_factory: pytest.TempPathFactory, clip_4s: Path) -> Path:
    root = tmp_path_factory.mktemp("web")
    (root / "page.html").write_text("<html><body>not a camera</body></html>")
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-i", str(clip_4s), "-c", "copy",
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
            str(root / "live.m3u8"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(clip_4s), "-c", "copy", str(root / "clip.ts")],
        check=True,
        timeout=60,
    )
    return root


@pytest.fixture(scope="module")
def web_server(web_root: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(web_root))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def frames_from(url: str, count: int, readers: list[CameraReader]) -> CameraReader:
    reader = CameraReader(SourceConfig(url=url, read_timeout=1.0, open_timeout=2.0))
    readers.append(reader.start())
    got = 0
    deadline = time.monotonic() + 8
    while got < count:
        assert time.monotonic() < deadline, f"only {got} frames: {reader.status()}"
        frame = reader.read(timeout=0.5)
        if frame is not None:
            assert frame.image.shape == (240, 320, 3)
            got += 1
    return reader


@pytest.mark.parametrize("path", ["/live.m3u8", "/clip.ts"], ids=["hls", "mpegts-over-http"])
def test_http_video_streams_flow(web_server: str, path: str, readers: list[CameraReader]) -> None:
    reader = frames_from(web_server + path, 10, readers)
    assert reader.status().frames_read >= 10


def test_a_web_page_is_reported_as_not_a_camera(
    web_server: str, readers: list[CameraReader]
) -> None:
    reader = CameraReader(SourceConfig(url=web_server + "/page.html", read_timeout=1.0))
    readers.append(reader.start())
    deadline = time.monotonic() + 5
    while reader.status().last_error is None:
        assert time.monotonic() < deadline
        assert reader.read(timeout=0.1) is None
    error = reader.status().last_error or ""
    assert "not an MJPEG stream (Content-Type text/html" in error
    assert "FFmpeg cannot read it either" in error
    assert reader.status().state is not CameraState.ONLINE
