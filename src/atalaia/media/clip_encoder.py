"""Encoding a list of JPEG frames into an H.264 MP4 (PyAV's bundled libx264).

Frames keep their capture times as presentation times, so a clip plays at real speed even when
the history has gaps, jitter or an uneven rate. Two time bases matter in PyAV: the `rate` given
to `add_stream` is the codec's frame rate (what x264 plans its bit budget on), and, unless a
`time_base` is given too, PyAV makes the codec's time base `1/rate` and rebases every frame's
pts into it when encoding. With a 5 fps clip two frames 0.1 s apart then round onto one
timestamp and the muxer refuses the second ("non monotonically increasing dts", EINVAL). So
the codec runs in its own fine time base (`TIME_BASE`), every pts is computed in that base here,
and the pts are strictly increasing whatever the history holds: frames are taken in capture
order and a frame whose time is not after the previous one's is placed one tick later.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from atalaia.media.history import EncodedFrame
from atalaia.media.jpeg import MediaError, with_suppressed_unlink

TIME_BASE = Fraction(1, 90_000)  # the usual video clock: 11 µs ticks, far below any spacing


@dataclass(frozen=True, slots=True)
class ClipInfo:
    path: Path
    frames: int
    duration: float
    bytes: int


def presentation_times(times: list[float], fps: float) -> tuple[list[int], int]:
    """Strictly increasing pts (in `TIME_BASE` ticks from the first time) for capture times in
    ascending order, and the last frame's duration in ticks (one nominal frame period).

    A time that is not after the previous frame's (a repeated timestamp, or a clock step
    backwards) gets the previous pts plus one tick: the frame is kept, its neighbours keep
    their real times.
    """
    if not times:
        return [], 0
    t0 = times[0]
    pts: list[int] = []
    for ts in times:
        ticks = round((ts - t0) / TIME_BASE)
        pts.append(ticks if not pts or ticks > pts[-1] else pts[-1] + 1)
    return pts, max(1, round(1 / (fps * TIME_BASE)))


def encode_clip(frames: list[EncodedFrame], path: Path, fps: float, crf: int) -> ClipInfo:
    """Write `frames` as an MP4 at `path` (atomically); the first frame's size wins.

    Frames are encoded in capture order (a stable sort: frames with the same time keep their
    order). Frames that do not decode are left out; a clip with none that decodes is an error.
    """
    if not frames:
        raise MediaError(f"no frames for clip {path.name}")
    ordered = sorted(frames, key=lambda f: f.ts)
    first = _decode(ordered[0].jpeg)
    if first is None:
        raise MediaError("cannot decode the clip's first frame")
    h, w = first.shape[:2]
    w, h = w - w % 2, h - h % 2  # yuv420p needs even sizes
    if w == 0 or h == 0:
        raise MediaError(f"the clip's first frame is too small ({first.shape[1]}x{first.shape[0]})")
    pts, last_duration = presentation_times([f.ts for f in ordered], fps)
    # How long each frame shows: until the next one, the last for one nominal frame period.
    durations = {p: nxt - p for p, nxt in itertools.pairwise(pts)}
    durations[pts[-1]] = last_duration
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    written = 0
    last_written = 0
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream(
                "libx264", rate=Fraction(round(fps * 1000), 1000), time_base=TIME_BASE
            )
            stream.width, stream.height = w, h
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            stream.options = {"preset": "veryfast", "crf": str(crf), "tune": "zerolatency"}

            def mux(packets: list[av.Packet]) -> None:
                for packet in packets:
                    if packet.pts is not None:
                        packet.duration = durations.get(packet.pts, last_duration)
                    container.mux(packet)

            for item, item_pts in zip(ordered, pts, strict=True):
                image = first if written == 0 and item is ordered[0] else _decode(item.jpeg)
                if image is None:
                    continue
                if image.shape[:2] != (h, w):
                    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
                frame.pts, frame.time_base = item_pts, TIME_BASE
                mux(stream.encode(frame))
                written += 1
                last_written = item_pts
            mux(stream.encode())
        os.replace(tmp, path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        with_suppressed_unlink(tmp)
        raise MediaError(f"cannot write clip {path}: {exc}") from exc
    except BaseException:
        with_suppressed_unlink(tmp)
        raise
    duration = float((last_written + durations[last_written]) * TIME_BASE)
    return ClipInfo(path, written, duration, path.stat().st_size)


def _decode(jpeg: bytes) -> np.ndarray | None:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image, np.uint8)
