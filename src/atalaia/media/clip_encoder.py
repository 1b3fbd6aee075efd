"""Encoding a list of JPEG frames into an H.264 MP4 (PyAV's bundled libx264).

Frames keep their capture times as presentation times (millisecond time base), so a clip plays
at real speed even when the history has gaps or an uneven rate.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class ClipInfo:
    path: Path
    frames: int
    duration: float
    bytes: int


def encode_clip(frames: list[EncodedFrame], path: Path, fps: float, crf: int) -> ClipInfo:
    """Write `frames` as an MP4 at `path` (atomically); the first frame's size wins."""
    if not frames:
        raise MediaError(f"no frames for clip {path.name}")
    first = cv2.imdecode(np.frombuffer(frames[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    if first is None:
        raise MediaError("cannot decode the clip's first frame")
    h, w = first.shape[:2]
    w, h = w - w % 2, h - h % 2  # yuv420p needs even sizes
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    t0 = frames[0].ts
    written = 0
    last_pts = -1
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
            stream.width, stream.height = w, h
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, 1000)
            stream.options = {"preset": "veryfast", "crf": str(crf), "tune": "zerolatency"}
            for item in frames:
                image = cv2.imdecode(np.frombuffer(item.jpeg, np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    continue
                if image.shape[:2] != (h, w):
                    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
                frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
                pts = max(last_pts + 1, round((item.ts - t0) * 1000))
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                last_pts = pts
                for packet in stream.encode(frame):
                    container.mux(packet)
                written += 1
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        with_suppressed_unlink(tmp)
        raise MediaError(f"cannot write clip {path}: {exc}") from exc
    except BaseException:
        with_suppressed_unlink(tmp)
        raise
    duration = (frames[-1].ts - t0) + 1.0 / fps
    return ClipInfo(path, written, duration, path.stat().st_size)
