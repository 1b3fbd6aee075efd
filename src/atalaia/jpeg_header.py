"""A JPEG's image size read from its frame header, without decoding it.

A module of its own, with no dependencies, so that the desktop viewer can use it without
importing `atalaia.media` (PyAV, pydantic and the clip writers: about 0.6 s).
"""

from __future__ import annotations

import struct

# Start-of-frame markers carry the image size; C4 (Huffman), C8 (reserved) and CC (arithmetic
# coding tables) share the range but are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it; None if `data` is not
    a JPEG, or no frame header with a non-empty size comes before its scan."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        (length,) = struct.unpack_from(">H", data, i + 2)
        if marker in _SOF_MARKERS:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, i + 5)
            return (width, height) if width and height else None
        if length < 2:
            return None
        i += 2 + length
    return None
