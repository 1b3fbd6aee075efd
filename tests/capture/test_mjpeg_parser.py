"""The MJPEG multipart parser on the shapes cameras really send, fed in awkward pieces; a
part's size read without decoding it, and its decoding when the camera uses it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from atalaia.capture.errors import SourceError
from atalaia.capture.mjpeg_parser import (
    ESP32_BOUNDARY,
    MalformedStream,
    MultipartJpegParser,
    boundary_from_content_type,
    looks_like_jpeg,
)
from atalaia.capture.mjpeg_source import JpegPicture
from atalaia.jpeg_header import jpeg_size

JPEG_A = b"\xff\xd8" + b"A" * 500 + b"\xff\xd9"
JPEG_B = b"\xff\xd8" + b"--1234\r\nnot a boundary" + b"B" * 300 + b"\xff\xd9"


def esp32_part(jpeg: bytes, *, length: bool = True, newline: bytes = b"\r\n") -> bytes:
    head = newline + b"--" + ESP32_BOUNDARY.encode() + newline + b"Content-Type: image/jpeg"
    head += newline
    if length:
        head += b"Content-Length: " + str(len(jpeg)).encode() + newline
    head += b"X-Timestamp: 1700000000.000001" + newline + newline
    return head + jpeg


def feed_in_pieces(parser: MultipartJpegParser, data: bytes, size: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(0, len(data), size):
        out += parser.feed(data[i : i + size])
    return out


@pytest.mark.parametrize("piece", [1, 7, 64, 100_000])
@pytest.mark.parametrize("length", [True, False])
def test_esp32_stream_in_any_chunking(piece: int, length: bool) -> None:
    stream = b"".join(esp32_part(j, length=length) for j in (JPEG_A, JPEG_B, JPEG_A))
    stream += esp32_part(JPEG_B, length=length)  # a last part completed by the next boundary
    stream += b"\r\n--" + ESP32_BOUNDARY.encode() + b"\r\n"
    parts = feed_in_pieces(MultipartJpegParser(ESP32_BOUNDARY), stream, piece)
    assert parts == [JPEG_A, JPEG_B, JPEG_A, JPEG_B]


def test_bare_newlines_junk_before_the_first_boundary_and_dashed_boundary_param() -> None:
    parser = MultipartJpegParser("--frame")
    stream = b"garbage before\n--frame\nContent-Type: image/jpeg\n\n" + JPEG_A + b"\n--frame\n"
    stream += b"\n" + JPEG_B + b"\n--frame\n"  # a part with no headers at all
    assert parser.feed(stream) == [JPEG_A, JPEG_B]


def test_a_body_that_never_shows_a_boundary_is_rejected_not_buffered_forever() -> None:
    parser = MultipartJpegParser("b", max_part_bytes=1000)
    parser.feed(b"--b\r\n\r\n")
    with pytest.raises(MalformedStream):
        for _ in range(20):
            parser.feed(b"x" * 100)


def test_oversized_content_length_is_rejected() -> None:
    parser = MultipartJpegParser("b", max_part_bytes=1000)
    with pytest.raises(MalformedStream):
        parser.feed(b"--b\r\nContent-Length: 5000\r\n\r\n")


def test_junk_without_a_boundary_is_discarded_as_it_comes() -> None:
    parser = MultipartJpegParser(ESP32_BOUNDARY)
    for _ in range(100):
        assert parser.feed(b"z" * 10_000) == []
    assert parser.feed(esp32_part(JPEG_A) + b"\r\n--" + ESP32_BOUNDARY.encode()) == [JPEG_A]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("multipart/x-mixed-replace;boundary=123456789000000000000987654321", ESP32_BOUNDARY),
        ('multipart/x-mixed-replace; boundary="myframe"', "myframe"),
        ("multipart/x-mixed-replace", ESP32_BOUNDARY),
    ],
)
def test_boundary_from_content_type(header: str, expected: str) -> None:
    assert boundary_from_content_type(header) == expected


def test_looks_like_jpeg() -> None:
    assert looks_like_jpeg(JPEG_A)
    assert looks_like_jpeg(JPEG_A + b"\x00" * 10)  # padding after the end marker
    assert not looks_like_jpeg(JPEG_A[:-2])  # truncated
    assert not looks_like_jpeg(b"<html>")


@pytest.mark.parametrize("size", [(480, 640), (240, 320), (17, 33)])
@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_size_reads_the_frame_header(size: tuple[int, int], progressive: bool) -> None:
    image = np.random.default_rng(1).integers(0, 255, (*size, 3), dtype=np.uint8)
    flags = [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    ok, encoded = cv2.imencode(".jpg", image, flags)
    assert ok
    assert jpeg_size(encoded.tobytes()) == (size[1], size[0])  # width, height
    assert jpeg_size(b"\xff\xd8\xff\xda\x00\x08" + bytes(20)) is None  # a scan, no header
    assert jpeg_size(b"\xff\xd8garbage") is None


def test_a_jpeg_picture_decodes_only_when_asked() -> None:
    image = np.random.default_rng(2).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    picture = JpegPicture(jpeg, (48, 64), "http://cam/stream")
    assert (picture.height, picture.width) == (48, 64)
    slot = np.zeros((48, 64, 3), np.uint8)
    picture.bgr_into(slot)
    np.testing.assert_array_equal(slot, cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1))
    assert picture.bgr() is picture.bgr()
    truncated = JpegPicture(jpeg[:40], (48, 64), "http://cam/stream")
    with pytest.raises(SourceError, match="cannot be decoded"):
        truncated.bgr()
