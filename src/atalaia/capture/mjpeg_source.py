"""Frames from MJPEG-over-HTTP cameras (ESP32-CAM and most cheap IP cameras), via httpx.

Why not FFmpeg: these cameras bend the multipart format (missing Content-Length, boundaries
with stray dashes, truncated JPEGs when Wi-Fi drops a packet), and FFmpeg's `mpjpeg` demuxer
gives up or probes for seconds on them. Reading the body with httpx and splitting it by hand is
a few dozen lines, gives exact timeouts (connect = open timeout, every socket read = read
timeout, so a frozen camera raises `ReadTimeout`), and lets a damaged part be skipped without
dropping the connection. A part is decoded only when the camera uses it (`JpegPicture`): parts
dropped by the `target_fps` cap, and frames neither due for detection nor for the media
sampler, are never decoded at all.

A URL that answers with anything but `multipart/...` raises `NotMultipart`, and the factory
hands it to PyAV (an HLS playlist or a progressive video over HTTP).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import cv2
import httpx
import numpy as np

from atalaia.capture.errors import SourceError
from atalaia.capture.frame import ReadyPicture
from atalaia.capture.masking import Masker
from atalaia.capture.mjpeg_parser import (
    MalformedStream,
    MultipartJpegParser,
    boundary_from_content_type,
    looks_like_jpeg,
)
from atalaia.jpeg_header import jpeg_size

# Parts that are not whole JPEGs are skipped; this many in a row means it is not a JPEG stream.
MAX_BAD_PARTS = 30


class NotMultipart(SourceError):
    """The URL answered, but not with a multipart stream; `content_type` says with what."""

    def __init__(self, message: str, content_type: str) -> None:
        super().__init__(message)
        self.content_type = content_type


class JpegPicture:
    """A JPEG part, decoded to BGR only when asked (`atalaia.capture.frame.Picture`); its size
    comes from the frame header. A part that turns out not to decode raises `SourceError`."""

    __slots__ = ("_image", "_jpeg", "_label", "_size")

    def __init__(self, jpeg: bytes, size: tuple[int, int], label: str) -> None:
        self._jpeg = jpeg
        self._size = size
        self._label = label
        self._image: np.ndarray | None = None

    @property
    def height(self) -> int:
        return self._size[0]

    @property
    def width(self) -> int:
        return self._size[1]

    def bgr(self) -> np.ndarray:
        if self._image is None:
            image = cv2.imdecode(np.frombuffer(self._jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
            if image is None or image.shape[:2] != self._size:
                raise SourceError(f"a JPEG from {self._label} cannot be decoded")
            self._image = np.ascontiguousarray(image, dtype=np.uint8)
        return self._image

    def bgr_into(self, out: np.ndarray) -> None:
        np.copyto(out, self.bgr(), casting="no")


class MjpegSource:
    """One open HTTP connection to an MJPEG stream."""

    def __init__(
        self, url: str, *, masker: Masker, open_timeout: float, read_timeout: float
    ) -> None:
        self._masker = masker
        self._read_timeout = read_timeout
        self._pending: deque[bytes] = deque()
        self._jpeg: bytes | None = None
        self._bad_parts = 0
        # Cameras sit on the local network: proxies configured for the internet (HTTP_PROXY)
        # must not be used for them.
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=open_timeout),
            follow_redirects=True,
            trust_env=False,
        )
        self._response: httpx.Response | None = None
        try:
            self._chunks, self._parser = self._connect(url, open_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def label(self) -> str:
        return self._masker.label

    @property
    def realtime(self) -> bool:
        return False

    @property
    def backpressure(self) -> bool:
        return False

    @property
    def fps(self) -> float | None:
        return None

    def grab(self) -> float | None:
        while not self._pending:
            for part in self._parser_feed(self._next_chunk()):
                if looks_like_jpeg(part):
                    self._pending.append(part)
                    self._bad_parts = 0
                else:
                    self._bad_parts += 1
                    if self._bad_parts > MAX_BAD_PARTS:
                        raise SourceError(f"{self.label} sends parts that are not JPEG pictures")
        self._jpeg = self._pending.popleft()
        return None

    def retrieve(self) -> np.ndarray:
        if self._jpeg is None:
            raise SourceError(f"no frame grabbed from {self.label}")
        image = cv2.imdecode(np.frombuffer(self._jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"a JPEG from {self.label} cannot be decoded")
        return np.ascontiguousarray(image, dtype=np.uint8)

    def picture(self) -> JpegPicture | ReadyPicture:
        if self._jpeg is None:
            raise SourceError(f"no frame grabbed from {self.label}")
        size = jpeg_size(self._jpeg)
        if size is None:  # no frame header where expected: decode now, as `retrieve` does
            return ReadyPicture(self.retrieve())
        width, height = size
        return JpegPicture(self._jpeg, (height, width), self.label)

    def close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
        self._client.close()

    def _connect(
        self, url: str, open_timeout: float
    ) -> tuple[Iterator[bytes], MultipartJpegParser]:
        request = self._client.build_request(
            "GET", url, headers={"Accept": "multipart/x-mixed-replace, */*;q=0.5"}
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise SourceError(
                f"cannot open {self.label}: no connection within {open_timeout:g} s (open timeout)"
            ) from None
        except httpx.TimeoutException:
            raise SourceError(
                f"cannot open {self.label}: no answer within {self._read_timeout:g} s "
                "(read timeout)"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot open {self.label}: {self._reason(exc)}") from None
        self._response = response
        if response.status_code >= 400:
            raise SourceError(
                f"{self.label} answered HTTP {response.status_code} {response.reason_phrase}"
            )
        content_type = response.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/"):
            raise NotMultipart(
                f"{self.label} is not an MJPEG stream (Content-Type {content_type or 'missing'})",
                content_type,
            )
        parser = MultipartJpegParser(boundary_from_content_type(content_type))
        # No chunk size: httpx then yields each network read as it comes instead of holding
        # bytes back until a fixed-size chunk is full (which would delay every frame).
        return response.iter_raw(), parser

    def _next_chunk(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise SourceError(f"{self.label} ended: the server closed the stream") from None
        except httpx.TimeoutException:
            raise SourceError(
                f"no data from {self.label} for {self._read_timeout:g} s (read timeout)"
            ) from None
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise SourceError(f"reading {self.label} failed: {self._reason(exc)}") from None

    def _parser_feed(self, chunk: bytes) -> list[bytes]:
        try:
            return self._parser.feed(chunk)
        except MalformedStream as exc:
            raise SourceError(f"{self.label} sends a broken MJPEG stream: {exc}") from None

    def _reason(self, exc: BaseException) -> str:
        return self._masker(str(exc) or type(exc).__name__)
