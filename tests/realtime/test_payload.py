"""Payload decoding: the envelope shapes, base64 and data URLs, sizes, options, image checks."""

from __future__ import annotations

import base64
import struct
import zlib

import cv2
import numpy as np
import pytest

from atalaia.detect import Detections
from atalaia.realtime import FrameError, FramePayload
from atalaia.realtime.image_decode import (
    decode_image,
    fit_longest_side,
    image_size,
    scale_detections,
)
from atalaia.realtime.payload import frame_id_of
from tests.realtime.conftest import data_url, jpeg, png

LIMIT = 1_000_000


def image(width: int = 64, height: int = 48) -> np.ndarray:
    rng = np.random.default_rng(width * 1000 + height)
    return rng.integers(0, 255, (height, width, 3), dtype=np.uint8)


def code_of(call: object, *args: object) -> str:
    with pytest.raises(FrameError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.code


@pytest.mark.parametrize(
    "encode",
    [
        lambda data: data,
        lambda data: data_url(data),
        lambda data: data_url(data, "image/png"),
        lambda data: base64.b64encode(data).decode(),
        lambda data: "  " + base64.b64encode(data).decode() + "\n",
        lambda data: bytearray(data),
    ],
    ids=["binary", "data-url", "data-url-png-mime", "plain-base64", "padded-text", "bytearray"],
)
def test_every_accepted_encoding_gives_the_same_bytes(encode: object) -> None:
    data = jpeg(image())
    payload = FramePayload.from_event([encode(data)], LIMIT)  # type: ignore[operator]
    assert payload.image_bytes(LIMIT) == data


def test_envelope_shapes_and_options() -> None:
    data = png(image())
    as_object = FramePayload.from_event(
        [{"image": data, "min_score": 0.5, "classes": ["person"], "frame_id": "f1"}], LIMIT
    )
    as_args = FramePayload.from_event([data, {"min_score": 0.5, "classes": ["person"]}], LIMIT)
    assert as_object.options.min_score == as_args.options.min_score == 0.5
    assert as_object.options.classes == ["person"] and as_object.options.frame_id == "f1"
    assert frame_id_of([{"image": data, "frame_id": 7}]) == 7
    assert frame_id_of([data, {"frame_id": "x", "bogus": 1}]) == "x", "read even when invalid"
    assert frame_id_of([data, {"frame_id": True}]) is None
    assert frame_id_of([data]) is None


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], "invalid_payload"),
        ([b"x", {}, {}], "invalid_payload"),
        ([123], "invalid_payload"),
        ([{"min_score": 0.5}], "invalid_payload"),  # no image
        ([{"image": b"x"}, {"min_score": 0.5}], "invalid_payload"),
        ([b"x", "not an object"], "invalid_options"),
        ([b"x", {"min_score": 2}], "invalid_options"),
        ([b"x", {"min_sore": 0.5}], "invalid_options"),  # a typo is not ignored
        ([b"x", {"classes": "person"}], "invalid_options"),
        ([b""], "invalid_image"),
    ],
)
def test_bad_envelopes(args: list[object], code: str) -> None:
    assert code_of(FramePayload.from_event, args, LIMIT) == code


def test_options_error_names_the_key() -> None:
    with pytest.raises(FrameError) as info:
        FramePayload.from_event([b"x", {"min_score": "high"}], LIMIT)
    assert "min_score" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "data:image/jpeg;base64,@@@###",
        "data:image/jpeg;base64,/9j/4AAQSkZJRg=x",
        "data:image/jpeg,not-base64-encoded",
        "data:image/jpeg;base64",
        "this is not base64!",
        "QUJD" + "é",
    ],
)
def test_malformed_base64(text: str) -> None:
    payload = FramePayload.from_event([text], LIMIT)
    assert code_of(payload.image_bytes, LIMIT) == "invalid_base64"


def test_size_limits_before_and_after_decoding() -> None:
    big = b"\xff\xd8\xff" + bytes(LIMIT)
    with pytest.raises(FrameError) as info:
        FramePayload.from_event([big], LIMIT)
    assert info.value.code == "payload_too_large" and info.value.details["max_bytes"] == LIMIT
    encoded = base64.b64encode(big + bytes(1000)).decode()
    assert code_of(FramePayload.from_event, [encoded], LIMIT) == "payload_too_large"
    # Just over the limit once decoded, yet short enough as text to pass the cheap check.
    over = base64.b64encode(bytes(LIMIT + 1)).decode()
    payload = FramePayload.from_event([over], LIMIT)
    assert code_of(payload.image_bytes, LIMIT) == "payload_too_large"
    exact = FramePayload.from_event([base64.b64encode(bytes(LIMIT)).decode()], LIMIT)
    assert len(exact.image_bytes(LIMIT)) == LIMIT


def test_jpeg_and_png_headers_give_the_size() -> None:
    frame = image(333, 111)
    assert image_size(jpeg(frame)) == ("jpeg", 333, 111)
    assert image_size(png(frame)) == ("png", 333, 111)
    progressive = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    assert image_size(progressive) == ("jpeg", 333, 111)


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + bytes(100),
        b"hello, this is text and not an image at all",
        bytes(range(256)) * 10,
        b"\x89PNG\r\n\x1a\n" + bytes(4),
        b"\xff\xd8\xff\xe0\x00",
    ],
    ids=["gif", "text", "random", "short-png", "short-jpeg"],
)
def test_not_an_image(data: bytes) -> None:
    assert code_of(decode_image, data, 10**7) == "invalid_image"


def test_truncated_jpeg_body_is_refused() -> None:
    data = jpeg(image(200, 200))
    header_only = data[: data.index(b"\xff\xda") + 2]  # up to start-of-scan, no pixels
    assert code_of(decode_image, header_only, 10**7) == "invalid_image"


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_decompression_bomb_is_refused_from_its_header() -> None:
    """A few bytes that claim 100000 x 100000 pixels are refused before any allocation."""
    with pytest.raises(FrameError) as info:
        decode_image(_png_header(100_000, 100_000), 40_000_000)
    assert info.value.code == "image_too_large" and info.value.details["max_pixels"] == 40_000_000


def test_decoded_frames_are_bgr() -> None:
    frame = image(40, 30)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    with_alpha = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    for data in (png(frame), png(grey), png(with_alpha), jpeg(frame)):
        decoded = decode_image(data, 10**6)
        assert decoded.shape == (30, 40, 3) and decoded.dtype == np.uint8
    assert np.array_equal(decode_image(png(frame), 10**6), frame)


def test_longest_side_is_scaled_down_never_up() -> None:
    assert fit_longest_side(image(1400, 700), 640).shape == (320, 640, 3)
    assert fit_longest_side(image(500, 1000), 640).shape == (640, 320, 3)
    small = image(300, 200)
    assert fit_longest_side(small, 640) is small


def test_boxes_are_mapped_back_to_the_sent_image() -> None:
    found = Detections(
        xyxy=np.array([[10, 20, 110, 220], [600, 300, 660, 330]], np.float32),
        confidence=np.array([0.9, 0.5], np.float32),
        class_id=np.array([0, 1], np.int32),
        class_names=("person", "dog"),
    )
    mapped = scale_detections(found, (640, 320), (1280, 640))
    assert mapped.xyxy[0].tolist() == [20, 40, 220, 440]
    assert mapped.xyxy[1].tolist() == [1200, 600, 1280, 640], "clipped to the image"
    assert mapped.names == ["person", "dog"]
    assert scale_detections(found, (640, 320), (640, 320)) is found
