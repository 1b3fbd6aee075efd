"""Client images to BGR frames the detector can take: JPEG or PNG only, bounded, scaled down.

The image's size is read from its header before decoding, so a small file that would expand
to gigabytes (a "decompression bomb") is refused without allocating anything. Frames are then
scaled so the longest side is at most `max_side`: the detector letterboxes to its own input
(320-640 px) anyway, and a smaller frame is cheaper to copy and to letterbox. Boxes are mapped
back to the pixels of the image the client sent (`scale_detections`).
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from atalaia.detect import Detections
from atalaia.jpeg_header import jpeg_size
from atalaia.realtime.errors import FrameError

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) from the header of a JPEG or PNG; `FrameError` otherwise."""
    if data.startswith(PNG_MAGIC):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise FrameError("invalid_image", "the PNG is truncated or corrupt")
        width, height = struct.unpack_from(">II", data, 16)
        return "png", width, height
    if data.startswith(JPEG_MAGIC):
        size = jpeg_size(data)
        if size is None:
            raise FrameError("invalid_image", "the JPEG is truncated or corrupt")
        return "jpeg", size[0], size[1]
    raise FrameError("invalid_image", "not a JPEG or PNG image")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """A BGR uint8 frame (alpha dropped, grey expanded), or `FrameError`."""
    fmt, width, height = image_size(data)
    if width == 0 or height == 0:
        raise FrameError("invalid_image", f"the {fmt.upper()} has no pixels")
    if width * height > max_pixels:
        raise FrameError(
            "image_too_large",
            f"the image is {width}x{height}; the limit is {max_pixels} pixels",
            max_pixels=max_pixels,
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError("invalid_image", f"the {fmt.upper()} could not be decoded")
    return image


def fit_longest_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """`image` scaled down (never up) so that its longest side is at most `max_side`."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def scale_detections(
    detections: Detections, detected: tuple[int, int], original: tuple[int, int]
) -> Detections:
    """Boxes (and landmarks) found on a frame of size `detected` (width, height), in pixels
    of the `original` image it was scaled from, clipped to that image."""
    if detected == original or len(detections) == 0:
        return detections
    fx = original[0] / detected[0]
    fy = original[1] / detected[1]
    xyxy = detections.xyxy * np.array([fx, fy, fx, fy], np.float32)
    np.clip(xyxy[:, 0::2], 0, original[0], out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, original[1], out=xyxy[:, 1::2])
    landmarks = None
    if detections.landmarks is not None:
        landmarks = (detections.landmarks * np.array([fx, fy], np.float32)).astype(np.float32)
    return Detections(
        xyxy=xyxy.astype(np.float32),
        confidence=detections.confidence,
        class_id=detections.class_id,
        class_names=detections.class_names,
        landmarks=landmarks,
    )
