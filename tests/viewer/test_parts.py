"""The viewer's small parts, on real data: the MJPEG splitter on the service's own framing,
the drop-oldest buffer, the newest-wins slot, the backoff, where the token comes from."""

from __future__ import annotations

import threading

import pytest

from atalaia.viewer.backoff import Backoff
from atalaia.viewer.frame_buffer import DropOldestBuffer
from atalaia.viewer.latest_slot import LatestSlot
from atalaia.viewer.mjpeg import MjpegError, MjpegParser
from atalaia.viewer.token_store import TOKEN_ENV, token_from


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
