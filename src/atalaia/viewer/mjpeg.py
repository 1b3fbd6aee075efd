"""Splits the service's `multipart/x-mixed-replace` live stream into JPEG frames.

The service sends each part with a `Content-Length` header (`atalaia.api.live`), so a part is
cut by length, not by scanning the image bytes for the boundary.
"""

from __future__ import annotations

MAX_BUFFER = 16 * 1024 * 1024  # a stream that never completes a part is broken, not slow


class MjpegError(ValueError):
    """The stream is not the multipart JPEG stream the service sends."""


class MjpegParser:
    """Feed bytes as they arrive; get back the complete JPEG parts."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        if len(self._buffer) > MAX_BUFFER:
            raise MjpegError("no complete frame in 16 MiB of stream")
        frames: list[bytes] = []
        while True:
            header_end = self._buffer.find(b"\r\n\r\n")
            if header_end < 0:
                return frames
            length = _content_length(bytes(self._buffer[:header_end]))
            start = header_end + 4
            if len(self._buffer) < start + length:
                return frames
            frames.append(bytes(self._buffer[start : start + length]))
            del self._buffer[: start + length]
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                raise MjpegError(f"bad Content-Length {value.strip()!r}") from None
    raise MjpegError("a part without Content-Length")
