"""Reading an alert's snapshot as JPEG bytes for sinks that send pictures.

Snapshots are normally JPEG already and are sent as they are; anything else OpenCV can read is
re-encoded, since FindFace and MQTT consumers expect JPEG.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from atalaia.sinks.base import DeliveryError, PermanentDeliveryError

JPEG_MAGIC = b"\xff\xd8\xff"


def read_jpeg(path: Path, quality: int = 90) -> bytes:
    """The file's bytes if it is a JPEG, else the picture re-encoded as JPEG.

    A missing file is a (retryable) `DeliveryError`: the camera may still be writing it. A file
    that is not a picture at all is a `PermanentDeliveryError`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeliveryError(f"snapshot {path.name} is not readable: {exc.strerror}") from None
    if data.startswith(JPEG_MAGIC):
        return data
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PermanentDeliveryError(f"snapshot {path.name} is not a picture")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise PermanentDeliveryError(f"snapshot {path.name} could not be encoded as JPEG")
    return bytes(encoded.tobytes())
