"""JPEG encoding, the size in a JPEG's header, and atomic file writes.

Files are written to a temporary name in the same folder and renamed into place, so a reader
(the API serving `live.jpg`, a sink attaching a snapshot) never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray


class MediaError(RuntimeError):
    """An image or clip could not be encoded or written."""


def encode_jpeg(image: NDArray[np.uint8], quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise MediaError(f"cannot encode a {image.shape} image as JPEG")
    return data.tobytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with_suppressed_unlink(Path(tmp))
        raise


def with_suppressed_unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def scale_to_width(image: NDArray[np.uint8], max_width: int) -> NDArray[np.uint8]:
    """`image` scaled down (keeping its aspect) to at most `max_width` pixels wide."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image
    size = (max_width, max(1, round(h * max_width / w)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
