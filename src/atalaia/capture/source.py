"""The interface every frame source implements, whatever library reads it.

Reading is split in two, as OpenCV's `grab()`/`retrieve()` are: `grab()` advances the stream
(demux and decode, which must happen for every frame of an H.264 stream anyway) and
`retrieve()` makes the BGR array (colour conversion, or JPEG decoding for MJPEG). The camera
reader only calls `retrieve()` for frames its `target_fps` cap keeps, so a 25 fps camera read at
5 fps does not pay for 20 colour conversions a second that nobody looks at.

A source is opened by its constructor (see `atalaia.capture.factory.open_source`) and used by one
thread at a time. Every blocking call is bounded by the configured open/read timeouts and raises
`SourceError` (with a masked message) when it fails or times out.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class FrameSource(Protocol):
    """An opened stream of frames."""

    @property
    def label(self) -> str:
        """What is being read, for logs: a URL with its password masked, or a file path."""
        ...

    @property
    def realtime(self) -> bool:
        """True when frames must be held back to their timestamps (files played as cameras)."""
        ...

    @property
    def backpressure(self) -> bool:
        """True when waiting for a slow consumer loses nothing (a file read as fast as
        possible); false for live sources, whose readers must drop instead of falling behind."""
        ...

    @property
    def fps(self) -> float | None:
        """The nominal frame rate when the container says one, else None."""
        ...

    def grab(self) -> float | None:
        """Advance to the next frame and return its presentation time in seconds, if known.

        Raises `SourceError` on failure or timeout, `EndOfStream` at the end of a finite file.
        """
        ...

    def retrieve(self) -> np.ndarray:
        """The frame grabbed last, as a BGR uint8 array of shape (height, width, 3)."""
        ...

    def close(self) -> None:
        """Release sockets, files and decoder threads. Safe to call more than once."""
        ...
