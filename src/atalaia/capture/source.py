"""The interface every frame source implements, whatever library reads it.

Reading is split in two, as OpenCV's `grab()`/`retrieve()` are: `grab()` advances the stream
(demux and decode, which must happen for every frame of an H.264 stream anyway) and
`retrieve()` makes the BGR array (colour conversion, or JPEG decoding for MJPEG). The camera
reader takes a `picture()` only for frames its `target_fps` cap keeps, so a 25 fps camera read at
5 fps does not pay for 20 colour conversions a second that nobody looks at; PyAV's pictures are
converted later still, only if the camera process uses the frame (`atalaia.capture.frame`).

A source is opened by its constructor (see `atalaia.capture.factory.open_source`) and used by one
thread at a time. Every blocking call is bounded by the configured open/read timeouts and raises
`SourceError` (with a masked message) when it fails or times out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from atalaia.capture.errors import EndOfStream, SourceError
from atalaia.capture.frame import Picture
from atalaia.capture.masking import Masker


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

    def picture(self) -> Picture:
        """The frame grabbed last, to be converted to BGR later, if ever (still valid after
        the next `grab()`). Sources that cannot wait convert at once (`ReadyPicture`)."""
        ...

    def close(self) -> None:
        """Release sockets, files and decoder threads. Safe to call more than once."""
        ...


@dataclass(frozen=True)
class SourceSettings:
    """How a source is opened, whatever library reads it.

    `finite` marks files: at their end they loop (reopened from the start) when `loop` is set,
    and otherwise end with `EndOfStream`. `realtime` only applies to files: a live stream comes
    at its own pace anyway.
    """

    masker: Masker
    open_timeout: float
    read_timeout: float
    finite: bool = False
    loop: bool = False
    realtime: bool = False


class FFmpegSourceBase(ABC):
    """What the OpenCV and PyAV sources share: their settings, the `FrameSource` properties
    derived from them, and what happens at the end of the input (loop a file by reopening it,
    or say why it ended). A subclass opens its input in `_open()`, sets `_fps` there and counts
    the frames it decoded since in `_frames_since_open`.
    """

    def __init__(self, settings: SourceSettings) -> None:
        self._masker = settings.masker
        self._open_timeout = settings.open_timeout
        self._read_timeout = settings.read_timeout
        self._finite = settings.finite
        self._loop = settings.loop
        self._realtime = settings.realtime and settings.finite
        self._fps: float | None = None
        self._frames_since_open = 0

    @property
    def label(self) -> str:
        return self._masker.label

    @property
    def realtime(self) -> bool:
        return self._realtime

    @property
    def backpressure(self) -> bool:
        return self._finite and not self._realtime

    @property
    def fps(self) -> float | None:
        return self._fps

    @abstractmethod
    def close(self) -> None:
        """Release what `_open()` opened. Safe to call more than once."""

    @abstractmethod
    def _open(self) -> None:
        """Open the input from its start; raise `SourceError` when that fails."""

    def _reopen_at_end(self, live_ended: str) -> None:
        """Called at the end of the input: a live source failed (`SourceError` with
        `live_ended`), a file ended (`EndOfStream`) or gave no frame at all (`SourceError`);
        a looped file is reopened from the start and the caller reads its first frame.

        Reopening is simpler and surer than seeking: every container and codec restarts
        cleanly, and for short demo files its cost (a few milliseconds) does not matter.
        """
        if not self._finite:
            raise SourceError(live_ended)
        if self._frames_since_open == 0:
            raise SourceError(f"no video frames could be decoded from {self.label}")
        if not self._loop:
            raise EndOfStream(self.label)
        self.close()
        self._open()
