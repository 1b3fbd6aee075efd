"""Letterbox pre-processing straight into a reusable batch tensor.

Each frame is resized once (keeping its aspect ratio) and written, channel-flipped and scaled,
into its slot of a preallocated N x 3 x H x W tensor; only the padding bands are filled with
the pad colour. Nothing of input size is allocated per call except the resized image itself,
and the scaling runs in numpy loops that release the GIL, so frames can be prepared on several
threads at once. The tensor is float32, or float16 for a half-precision model: the scaling is
computed in float32 and rounded once as it is stored, so a float16 batch costs no extra pass.
Measured here at 640: about 0.8 ms per 700x466 frame, against 4 ms for `cv2.dnn.blobFromImage`
plus a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class PixelTransform:
    """How a model wants its pixels: channel order, mean, scale and the colour of padding.

    input = (pixel - mean) * scale, per channel, in RGB order when `to_rgb`.
    """

    to_rgb: bool = True
    mean: float = 0.0
    scale: float = 1.0 / 255.0
    pad_pixel: int = 114

    @property
    def pad_value(self) -> np.float32:
        """The padding colour as the model sees it, after mean and scale."""
        return np.float32((self.pad_pixel - self.mean) * self.scale)


# Ultralytics YOLO / RT-DETR exports: RGB, 0..1, grey (114) padding.
ULTRALYTICS_PIXELS = PixelTransform()


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where a frame landed in the model input, to map model coordinates back to the frame."""

    scale_x: float
    scale_y: float
    pad_left: int
    pad_top: int
    frame_width: int
    frame_height: int

    def boxes_to_frame(self, xyxy: NDArray[np.float32]) -> NDArray[np.float32]:
        """Map (N, 4) corners from input pixels to frame pixels, clipped to the frame."""
        out = np.empty_like(xyxy)
        out[:, 0::2] = (xyxy[:, 0::2] - self.pad_left) / self.scale_x
        out[:, 1::2] = (xyxy[:, 1::2] - self.pad_top) / self.scale_y
        np.clip(out[:, 0::2], 0, self.frame_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.frame_height, out=out[:, 1::2])
        return out

    def points_to_frame(self, points: NDArray[np.float32]) -> NDArray[np.float32]:
        """Map (..., 2) points from input pixels to frame pixels (not clipped: a landmark of a
        face cut by the frame edge may lie outside it)."""
        out = np.empty_like(points)
        out[..., 0] = (points[..., 0] - self.pad_left) / self.scale_x
        out[..., 1] = (points[..., 1] - self.pad_top) / self.scale_y
        return out


def scaled_size(frame_hw: tuple[int, int], bound_hw: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of the frame resized to fit `bound_hw`, keeping its aspect ratio."""
    height, width = frame_hw
    bound_h, bound_w = bound_hw
    ratio = min(bound_w / width, bound_h / height)
    return min(bound_h, max(1, round(height * ratio))), min(bound_w, max(1, round(width * ratio)))


def letterbox_into(
    frame: NDArray[np.uint8],
    slot: NDArray[np.float32 | np.float16 | np.uint8],
    pixels: PixelTransform,
) -> Letterbox:
    """Resize `frame` (H x W x 3 BGR) into `slot` (3 x h x w), centred, keeping aspect ratio.

    A uint8 slot gets the pixels unscaled (`input_upload: uint8`: the mean and scale are
    applied where the model runs), its padding the pad colour itself."""
    height, width = frame.shape[:2]
    input_h, input_w = slot.shape[1:]
    new_h, new_w = scaled_size((height, width), (input_h, input_w))
    left = (input_w - new_w) // 2
    top = (input_h - new_h) // 2
    resized: NDArray[np.uint8] = frame
    if (new_w, new_h) != (width, height):
        resized = np.asarray(cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR))

    # Contiguous planes (`cv2.split`) scale faster than a strided, channel-flipped view of the
    # interleaved image: 84 against 137 us for a 320 x 240 frame, measured here.
    planes = cv2.split(resized)
    if pixels.to_rgb:
        planes = planes[::-1]
    region = slot[:, top : top + new_h, left : left + new_w]
    for plane, target in zip(planes, region, strict=True):
        if target.dtype == np.uint8:
            np.copyto(target, plane)
        elif pixels.mean and target.dtype != np.float32:  # one rounding to float16, not two
            shifted = np.subtract(plane, np.float32(pixels.mean), dtype=np.float32)
            np.multiply(shifted, np.float32(pixels.scale), out=target)
        elif pixels.mean:
            np.subtract(plane, np.float32(pixels.mean), out=target, dtype=np.float32)
            target *= np.float32(pixels.scale)
        else:
            np.multiply(plane, np.float32(pixels.scale), out=target, dtype=np.float32)

    pad = pixels.pad_pixel if slot.dtype == np.uint8 else pixels.pad_value
    slot[:, :top, :] = pad
    slot[:, top + new_h :, :] = pad
    slot[:, top : top + new_h, :left] = pad
    slot[:, top : top + new_h, left + new_w :] = pad
    return Letterbox(
        scale_x=new_w / width,
        scale_y=new_h / height,
        pad_left=left,
        pad_top=top,
        frame_width=width,
        frame_height=height,
    )


def fitted_shape(
    frame_hw: tuple[int, int], bound_hw: tuple[int, int], stride: int
) -> tuple[int, int]:
    """The smallest input (height, width), each a multiple of `stride` and at most the bound,
    that holds the frame letterboxed into `bound_hw` at the same scale.

    A 4:3 frame at 320 is 320 x 240 once resized: a 256 x 320 input holds it with 16 rows of
    padding where 320 x 320 had 80, and the model's work is about proportional to the pixels
    it is given (measured: 20-25 % less time per YOLO11n call, docs/benchmarks.md). The
    frame's scale, and so every detection, is the same as in the square input.
    """
    new_h, new_w = scaled_size(frame_hw, bound_hw)
    bound_h, bound_w = bound_hw
    return (min(bound_h, -(-new_h // stride) * stride), min(bound_w, -(-new_w // stride) * stride))


class InputTensor:
    """An N x 3 x H x W tensor kept between calls and grown only when a call needs more.

    One per worker thread: reusing it avoids allocating and page-faulting megabytes per call
    (4.9 MB per frame at 640 in float32, half that in float16). H x W is the configured input
    unless a call asks for a smaller one (`fitted_shape`); every shape is a view of one buffer.
    """

    def __init__(
        self,
        input_height: int,
        input_width: int,
        dtype: type[np.float32] | type[np.float16] | type[np.uint8] = np.float32,
    ) -> None:
        self._hw = (input_height, input_width)
        self._dtype = dtype
        self._data: NDArray[np.float32 | np.float16 | np.uint8] = np.empty(0, dtype)

    def batch(
        self, size: int, hw: tuple[int, int] | None = None
    ) -> NDArray[np.float32 | np.float16 | np.uint8]:
        """A contiguous `size` x 3 x H x W view (contents undefined until filled); H x W is
        `hw`, or the configured input."""
        height, width = hw or self._hw
        needed = size * 3 * height * width
        if needed > len(self._data):
            self._data = np.empty(needed, self._dtype)
        return self._data[:needed].reshape(size, 3, height, width)
