"""The two ways a frame source stops: it failed, or a finite file ran out of frames.

They are kept apart because the camera reader answers them differently: a failure is retried
with backoff forever (a camera comes back), an end of stream is final (a demo file without
`loop` is done).
"""

from __future__ import annotations


class SourceError(Exception):
    """A source could not be opened or stopped delivering frames.

    The message is meant for operators and is already masked: sources build it from FFmpeg's,
    OpenCV's or httpx's errors with every password in the URL replaced by `***`.
    """


class EndOfStream(Exception):
    """A finite source (a video file played without `loop`) has delivered its last frame."""
