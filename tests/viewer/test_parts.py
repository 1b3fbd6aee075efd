"""The viewer's small parts, on real data: the MJPEG splitter on the service's own framing,
the drop-oldest buffer, the newest-wins slot, the backoff, where the token comes from."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from atalaia.viewer.backoff import Backoff
from atalaia.viewer.frame_buffer import DropOldestBuffer
from atalaia.viewer.latest_slot import LatestSlot
from atalaia.viewer.mjpeg import MjpegError, MjpegParser
from atalaia.viewer.token_store import TOKEN_ENV, token_from

# Parts, not a window: no test here spins the event loop, so the stall probe would time the
# tests' own imports and arithmetic (the window's tests are the other modules).
pytestmark = pytest.mark.no_ui_loop


def _part(jpeg: bytes) -> bytes:
    """One part exactly as `atalaia.api.live` writes it."""
    return (
        b"--atalaia-frame\r\nContent-Type: image/jpeg\r\n"
        + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
        + jpeg
        + b"\r\n"
    )


def test_mjpeg_parts_split_by_length_whatever_the_chunking() -> None:
    images = [
        b"\xff\xd8" + bytes([i]) * (1000 + i) + b"\r\n\r\n--atalaia-frame\xff\xd9" for i in range(5)
    ]
    stream = b"".join(_part(image) for image in images)
    for chunk_size in (1, 7, 100, len(stream)):
        parser = MjpegParser()
        got: list[bytes] = []
        for start in range(0, len(stream), chunk_size):
            got += parser.feed(stream[start : start + chunk_size])
        assert got == images


def test_mjpeg_part_without_length_is_an_error() -> None:
    with pytest.raises(MjpegError, match="Content-Length"):
        MjpegParser().feed(b"--atalaia-frame\r\nContent-Type: image/jpeg\r\n\r\nxxxx")


def test_drop_oldest_buffer_keeps_the_newest_and_counts_drops() -> None:
    buffer: DropOldestBuffer[int] = DropOldestBuffer(3)
    for value in range(10):
        buffer.put(value)
    assert (buffer.put_count, buffer.dropped, len(buffer)) == (10, 7, 3)
    assert [buffer.take(), buffer.take(), buffer.take(), buffer.take()] == [7, 8, 9, None]


def test_latest_slot_notifies_once_until_taken() -> None:
    slot: LatestSlot[int] = LatestSlot()
    notified = [slot.put(i) for i in range(5)]
    assert notified == [True, False, False, False, False]
    assert slot.replaced == 4
    assert slot.take() == 4 and slot.take() is None
    assert slot.put(5) is True


def test_latest_slot_under_concurrent_writers_loses_no_notification() -> None:
    slot: LatestSlot[int] = LatestSlot()
    notifications = []

    def write(base: int) -> None:
        for i in range(2000):
            if slot.put(base + i):
                notifications.append(1)

    threads = [threading.Thread(target=write, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(notifications) == 1  # nobody took: one pending notification, never more
    assert slot.take() is not None


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(first=0.5, cap=4.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_token_from_flag_then_environment() -> None:
    url = "http://127.0.0.1:1"
    assert token_from("from-flag", url, env={TOKEN_ENV: "from-env"}) == "from-flag"
    assert token_from(None, url, env={TOKEN_ENV: "from-env"}) == "from-env"


def test_viewer_token_variable_is_not_read_as_service_configuration() -> None:
    """A user may export ATALAIA_VIEWER_TOKEN in the shell that also starts the service."""
    from atalaia.config import load_config

    config = load_config(None, env={TOKEN_ENV: "a-viewer-token"})
    assert config.server.port == 8000


def test_qt_signals_keep_their_references(qapp: object) -> None:
    """PySide6 6.12.0 lowered the count of `True` on every emit, and the viewer aborted after
    a few thousand frames; the installed PySide6 must not (the viewer refuses 6.12)."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from atalaia.viewer.app import broken_pyside

    class Emitter(QObject):
        ping = Signal(bool, str)

    emitter = Emitter()
    got: list[bool] = []
    emitter.ping.connect(lambda flag, _text: got.append(flag))
    before = sys.getrefcount(True)
    for _ in range(100):
        emitter.ping.emit(True, "")
    got.clear()
    assert abs(sys.getrefcount(True) - before) < 5
    assert broken_pyside() is None


def test_live_frames_decode_reduced_for_small_tiles() -> None:
    """A tile smaller than the camera's frame gets libjpeg's reduced decode (1/2, 1/4, 1/8),
    still at least the tile's size, then scaled exactly to fit; full size when it is bigger."""
    import cv2
    import numpy as np
    from PySide6.QtCore import QSize

    from atalaia.demo import demo_frames
    from atalaia.viewer.local_frames import decode_flag, decode_jpeg, jpeg_size

    frame = next(iter(demo_frames(seconds=0.2, fps=5)))  # 640x480, the camera's live size
    jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()
    progressive = cv2.imencode(".jpg", frame[:100, :77], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1]
    assert jpeg_size(jpeg) == (640, 480)
    assert jpeg_size(progressive.tobytes()) == (77, 100)
    assert jpeg_size(b"not a jpeg") is None and jpeg_size(jpeg[:40]) is None
    cases = [
        (QSize(300, 225), cv2.IMREAD_REDUCED_COLOR_2, (300, 225)),
        (QSize(150, 200), cv2.IMREAD_REDUCED_COLOR_4, (150, 112)),
        (QSize(60, 60), cv2.IMREAD_REDUCED_COLOR_8, (60, 45)),
        (QSize(640, 480), cv2.IMREAD_COLOR, (640, 480)),
        (QSize(1200, 900), cv2.IMREAD_COLOR, (1200, 900)),
    ]
    for size, flag, shown in cases:
        assert decode_flag(jpeg, size) == flag, size
        image = decode_jpeg(jpeg, size)
        assert image is not None and (image.width(), image.height()) == shown
    # the reduced decode shows the same picture: mean colour within a few levels of full size
    small = decode_jpeg(jpeg, QSize(300, 225))
    assert small is not None
    pixels = np.frombuffer(small.constBits(), np.uint8).reshape(225, small.bytesPerLine())
    reference = cv2.resize(frame, (300, 225), interpolation=cv2.INTER_AREA)
    assert abs(float(pixels[:, :900].mean()) - float(reference.mean())) < 3


def test_live_stream_hands_each_frame_over_before_reading_the_next() -> None:
    """Each part reaches the tile's slot as soon as its bytes have come, not once more bytes
    follow: a 64 KiB read chunk held each ~40 KB frame back until the next one arrived, frames
    came two at once and the tile, painting the newest, showed ~10 of the 18 a second sent.
    Here the stream notes how many frames the worker had handed over each time it is asked
    for more bytes."""
    import cv2
    import httpx

    from atalaia.demo import demo_frames
    from atalaia.viewer.api_client import ApiClient
    from atalaia.viewer.live_stream import LiveStreamWorker

    frames = [cv2.resize(f, (160, 120)) for f in demo_frames(seconds=0.4, fps=10)][:3]
    parts = [_part(cv2.imencode(".jpg", f)[1].tobytes()) for f in frames]
    assert sum(map(len, parts)) < 64 * 1024  # all of them fit in the old chunk
    worker = LiveStreamWorker("http://atalaia.test", "token", "cam1", 20.0)
    handed_over_when_asked: list[int] = []

    class Parts(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for part in parts:
                handed_over_when_asked.append(worker.received)
                yield part

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/cameras/cam1/live.mjpeg"
        content_type = "multipart/x-mixed-replace; boundary=atalaia-frame"
        return httpx.Response(200, headers={"Content-Type": content_type}, stream=Parts())

    client = ApiClient("http://atalaia.test", "token")
    client._http = httpx.Client(base_url=client.url, transport=httpx.MockTransport(answer))
    try:
        worker._stream(client, Backoff())
    finally:
        client.close()
    assert handed_over_when_asked == [0, 1, 2]
    assert worker.received == 3 and worker.slot.take() is not None
