"""PyAV frames to BGR: the OpenCV fast path must give the picture swscale gives."""

from __future__ import annotations

import av
import numpy as np
import pytest

from atalaia.capture.frame import ReadyPicture
from atalaia.capture.pyav_source import DecodedPicture, frame_to_bgr


def _picture(width: int, height: int) -> np.ndarray:
    """Gradients and flat colour blocks: chroma edges and the full luma range."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack(
        [(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)), ((x + y) % 256)],
        axis=-1,
    ).astype(np.uint8)
    image[: height // 4, : width // 4] = (0, 0, 255)
    image[-height // 4 :, -width // 4 :] = (255, 255, 255)
    return image


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (642, 362), (100, 50)])
def test_yuv420p_matches_swscale(size: tuple[int, int]) -> None:
    width, height = size
    frame = av.VideoFrame.from_ndarray(_picture(width, height), format="bgr24").reformat(
        format="yuv420p"
    )
    fast = frame_to_bgr(frame)
    reference = frame.to_ndarray(format="bgr24")
    assert fast.shape == (height, width, 3)
    assert fast.dtype == np.uint8 and fast.flags.c_contiguous
    diff = np.abs(fast.astype(np.int16) - reference.astype(np.int16))
    # Rounding and chroma interpolation differ by a level or two; a wrong matrix or range
    # would be off by tens.
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) <= 6


@pytest.mark.parametrize("fmt", ["yuvj420p", "yuv422p", "rgb24"])
def test_other_formats_go_through_swscale(fmt: str) -> None:
    frame = av.VideoFrame.from_ndarray(_picture(64, 48), format="bgr24").reformat(format=fmt)
    np.testing.assert_array_equal(frame_to_bgr(frame), frame.to_ndarray(format="bgr24"))


def test_odd_sizes_go_through_swscale() -> None:
    frame = av.VideoFrame.from_ndarray(_picture(63, 47), format="bgr24").reformat(format="yuv420p")
    np.testing.assert_array_equal(frame_to_bgr(frame), frame.to_ndarray(format="bgr24"))


@pytest.mark.parametrize("fmt", ["yuv420p", "yuvj420p", "yuv422p"])
def test_a_decoded_picture_converts_later_and_into_a_given_array(fmt: str) -> None:
    """What the camera does with a frame it uses: convert it after the source moved on,
    straight into a ring slot; the same picture as converting it at once."""
    frame = av.VideoFrame.from_ndarray(_picture(64, 48), format="bgr24").reformat(format=fmt)
    picture = DecodedPicture(frame)
    assert (picture.height, picture.width) == (48, 64)
    slot = np.zeros((48, 64, 3), np.uint8)
    picture.bgr_into(slot)
    np.testing.assert_array_equal(slot, frame_to_bgr(frame))
    np.testing.assert_array_equal(picture.bgr(), slot)
    assert picture.bgr() is picture.bgr()  # converted once


def test_a_ready_picture_is_copied_into_a_given_array() -> None:
    image = _picture(32, 24)
    picture = ReadyPicture(image)
    slot = np.zeros_like(image)
    picture.bgr_into(slot)
    np.testing.assert_array_equal(slot, image)
    assert picture.bgr() is image and (picture.height, picture.width) == (24, 32)
