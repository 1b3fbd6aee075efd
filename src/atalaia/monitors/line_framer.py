"""Splitting a serial byte stream into lines without trusting the other end.

A board that reboots, a loose cable or a wrong baud rate sends noise with no newline in sight;
a naive reader would keep growing its buffer forever. This framer holds at most `max_bytes`:
a line longer than that is dropped whole (up to and including its newline) and counted, and
framing resumes cleanly at the next line.
"""

from __future__ import annotations


class LineFramer:
    """Feed bytes in, get complete lines out (without the `\\n` and a trailing `\\r`)."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("expected a positive line length limit")
        self.max_bytes = max_bytes
        self.oversize = 0
        self._buffer = bytearray()
        self._skipping = False

    def reset(self) -> None:
        """Forget a partial line (the port was reopened: what follows is a new stream)."""
        self._buffer.clear()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            if end < 0:
                self._keep(data[start:])
                break
            if self._skipping:
                self._skipping = False  # the end of the line being dropped
            else:
                piece = data[start:end]
                if len(self._buffer) + len(piece) > self.max_bytes:
                    self.oversize += 1
                else:
                    self._buffer += piece
                    lines.append(bytes(self._buffer).removesuffix(b"\r"))
            self._buffer.clear()
            start = end + 1
        return lines

    def _keep(self, tail: bytes) -> None:
        if self._skipping:
            return
        if len(self._buffer) + len(tail) > self.max_bytes:
            self.oversize += 1
            self._buffer.clear()
            self._skipping = True
        else:
            self._buffer += tail
