"""Splitting an MJPEG-over-HTTP body (`multipart/x-mixed-replace`) into JPEG pictures.

Cameras are loose with the format, so the parser accepts what they really send rather than
only what RFC 2046 says: parts with or without `Content-Length` (when absent, a part ends at
the next boundary), `\\n` or `\\r\\n` line ends, a boundary parameter written with or without its
leading dashes, and junk before the first boundary. Every buffer is bounded, so a stream that
never shows a boundary fails with `MalformedStream` instead of eating memory.
"""

from __future__ import annotations

import re
from enum import Enum, auto

# The boundary of the ESP32 camera web server (`app_httpd.cpp`), used when a camera names none.
ESP32_BOUNDARY = "123456789000000000000987654321"
MAX_PART_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024

_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length\s*:\s*(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


class MalformedStream(ValueError):
    """The bytes cannot be a multipart stream (no boundary, oversized part or header)."""


def boundary_from_content_type(content_type: str) -> str:
    """The `boundary` parameter of a Content-Type header, quotes removed; ESP32's if missing."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"')
    return ESP32_BOUNDARY


class _State(Enum):
    BOUNDARY = auto()
    HEADERS = auto()
    BODY = auto()


class MultipartJpegParser:
    """Incremental: `feed()` bytes as they arrive, get back the parts completed so far."""

    def __init__(self, boundary: str, max_part_bytes: int = MAX_PART_BYTES) -> None:
        token = boundary.lstrip("-").encode("latin-1")
        if not token:
            raise ValueError("expected a non-empty multipart boundary")
        # Searching for "--" + the token without its own dashes finds both the RFC form
        # ("--" + boundary) and the common "boundary=--frame" + "--frame" mistake.
        self._delimiter = b"--" + token
        self._max_part = max_part_bytes
        self._buffer = bytearray()
        self._state = _State.BOUNDARY
        self._length: int | None = None
        # How far the body without Content-Length has been searched for a delimiter, so each
        # chunk is scanned once rather than the whole part again.
        self._scanned = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        parts: list[bytes] = []
        while True:
            if self._state is _State.BOUNDARY:
                if not self._skip_boundary():
                    break
            elif self._state is _State.HEADERS:
                if not self._read_headers():
                    break
            else:
                part = self._read_body()
                if part is None:
                    break
                parts.append(part)
        return parts

    def _skip_boundary(self) -> bool:
        at = self._buffer.find(self._delimiter)
        if at < 0:
            # Nothing but preamble or junk so far: keep only a possible start of a delimiter.
            keep = len(self._delimiter) - 1
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
            return False
        end = self._buffer.find(b"\n", at + len(self._delimiter))
        if end < 0:
            if len(self._buffer) - at > MAX_HEADER_BYTES:
                raise MalformedStream("a boundary line never ends")
            return False
        del self._buffer[: end + 1]
        self._state = _State.HEADERS
        return True

    def _read_headers(self) -> bool:
        if self._buffer.startswith(b"\r\n") or self._buffer.startswith(b"\n"):
            # A part without headers: the blank line follows the boundary at once.
            del self._buffer[: 2 if self._buffer.startswith(b"\r\n") else 1]
            self._length = None
            self._state = _State.BODY
            return True
        match = _HEADERS_END.search(self._buffer)
        if match is None:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise MalformedStream(f"part headers longer than {MAX_HEADER_BYTES} bytes")
            return False
        headers = bytes(self._buffer[: match.start()])
        del self._buffer[: match.end()]
        length = _CONTENT_LENGTH.search(headers)
        self._length = int(length.group(1)) if length else None
        if self._length is not None and self._length > self._max_part:
            raise MalformedStream(f"a part of {self._length} bytes is larger than allowed")
        self._state = _State.BODY
        return True

    def _read_body(self) -> bytes | None:
        if self._length is not None:
            if len(self._buffer) < self._length:
                return None
            part = bytes(self._buffer[: self._length])
            del self._buffer[: self._length]
        else:
            start = max(0, self._scanned - len(self._delimiter) + 1)
            at = self._buffer.find(self._delimiter, start)
            if at < 0:
                if len(self._buffer) > self._max_part:
                    raise MalformedStream(f"no boundary within {self._max_part} bytes")
                self._scanned = len(self._buffer)
                return None
            self._scanned = 0
            part = bytes(self._buffer[:at]).rstrip(b"\r\n")
            del self._buffer[:at]
        self._state = _State.BOUNDARY
        return part


def looks_like_jpeg(data: bytes) -> bool:
    """A complete JPEG starts with SOI and ends with EOI (cameras may pad after it)."""
    return data.startswith(b"\xff\xd8") and b"\xff\xd9" in data[-64:]
