"""FrameProcessor: one client frame from event to answer, never blocking the event loop.

The order of checks is the order of their cost: the envelope and its size (free), the
client's frames in flight and its rate (free), then base64, hashing, the cache and image
decoding on a worker thread, then detection in the detector process. A frame refused early
costs the server almost nothing, which is what keeps a flooding client from slowing others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from atalaia.config.realtime import RealtimeConfig
from atalaia.detect import Detections
from atalaia.detect.labels import class_ids_by_name, normalize_class_name
from atalaia.pipeline.client_frames import ClientDetection, ClientDetectionError
from atalaia.realtime.cache import ResultCache, image_key
from atalaia.realtime.errors import FrameError
from atalaia.realtime.image_decode import decode_image, fit_longest_side, scale_detections
from atalaia.realtime.payload import FrameOptions, FramePayload, frame_id_of
from atalaia.realtime.rate_limit import FrameRateLimiter

log = logging.getLogger(__name__)

RESULTS_EVENT = "detection_results"
ERROR_EVENT = "detection_error"


@dataclass(frozen=True, slots=True)
class CachedResult:
    """Detections of one image, in its own pixels, before the client's options."""

    detections: Detections
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PreparedFrame:
    key: bytes
    image: np.ndarray  # scaled to fit max_side
    width: int  # of the image the client sent
    height: int


@dataclass(frozen=True, slots=True)
class FrameAnswer:
    event: str
    body: dict[str, Any]


def _class_mask(names: list[str], class_names: tuple[str, ...]) -> np.ndarray:
    ids = class_ids_by_name(class_names)
    unknown = [n for n in names if normalize_class_name(n) not in ids]
    if unknown:
        raise FrameError(
            "invalid_options",
            f"unknown classes {unknown}; the model knows {len(class_names)} classes, "
            f"e.g. {list(class_names[:5])}",
        )
    allowed = np.zeros(len(class_names), dtype=bool)
    for name in names:
        allowed[ids[normalize_class_name(name)]] = True
    return allowed


def apply_options(detections: Detections, options: FrameOptions) -> Detections:
    """The client's own filters, on top of the detector's (they can only narrow)."""
    keep = np.ones(len(detections), dtype=bool)
    if options.min_score is not None:
        keep &= detections.confidence >= options.min_score
    if options.classes is not None:
        keep &= _class_mask(options.classes, detections.class_names)[detections.class_id]
    return detections if keep.all() else detections[keep]


class FrameProcessor:
    def __init__(
        self,
        config: RealtimeConfig,
        detection: Callable[[], ClientDetection | None],
        executor: Executor,
    ) -> None:
        self.config = config
        self._detection = detection
        self._executor = executor
        self.limiter = FrameRateLimiter(config.min_frame_interval, config.frame_burst)
        self.cache: ResultCache[CachedResult] = ResultCache(config.cache_size, config.cache_ttl)
        self._cache_source: ClientDetection | None = None
        self._in_flight: dict[str, int] = {}

    def forget(self, client: str) -> None:
        self.limiter.forget(client)

    def in_flight(self, client: str) -> int:
        return self._in_flight.get(client, 0)

    async def process(self, client: str, args: Sequence[Any]) -> FrameAnswer:
        """The event and body to send back to `client` for one `process_frame`."""
        started = time.perf_counter()
        frame_id = frame_id_of(args)
        try:
            answer = FrameAnswer(RESULTS_EVENT, await self._process(client, args, started))
        except FrameError as exc:
            answer = FrameAnswer(ERROR_EVENT, exc.to_dict())
        except ClientDetectionError as exc:
            answer = FrameAnswer(ERROR_EVENT, {"error": str(exc), "code": exc.code})
        except Exception:
            log.exception("a frame from client %s failed", client)
            answer = FrameAnswer(
                ERROR_EVENT,
                {"error": "internal error processing the frame", "code": "internal_error"},
            )
        if frame_id is not None:
            answer.body["frame_id"] = frame_id
        return answer

    async def _process(self, client: str, args: Sequence[Any], started: float) -> dict[str, Any]:
        cfg = self.config
        payload = FramePayload.from_event(args, cfg.max_payload_bytes)
        if self.in_flight(client) >= cfg.max_in_flight:
            raise FrameError(
                "busy",
                f"{cfg.max_in_flight} frame(s) of this client are still being processed; "
                "wait for their answers",
                max_in_flight=cfg.max_in_flight,
            )
        retry_after = self.limiter.acquire(client)
        if retry_after > 0:
            raise FrameError(
                "rate_limited",
                f"at most one frame every {cfg.min_frame_interval:g}s",
                retry_after=round(retry_after, 3),
            )
        detection = self._current_detection()
        if detection is None:
            raise FrameError(
                "detector_unavailable", "detector not running (alert processing is stopped)"
            )
        if payload.options.classes is not None and detection.class_names:
            _class_mask(payload.options.classes, detection.class_names)  # fail before work
        self._in_flight[client] = self.in_flight(client) + 1
        try:
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(self._executor, self._prepare, payload)
            cached = isinstance(prepared, CachedResult)
            if isinstance(prepared, CachedResult):
                result = prepared
            else:
                detections = await detection.detect(prepared.image)
                size = (prepared.image.shape[1], prepared.image.shape[0])
                result = CachedResult(
                    scale_detections(detections, size, (prepared.width, prepared.height)),
                    prepared.width,
                    prepared.height,
                )
                if detection is self._cache_source:
                    self.cache.put(prepared.key, result)
        finally:
            left = self.in_flight(client) - 1
            if left > 0:
                self._in_flight[client] = left
            else:
                self._in_flight.pop(client, None)
        detections = apply_options(result.detections, payload.options)
        elapsed = time.perf_counter() - started
        if elapsed > cfg.slow_frame_warning:
            log.warning(
                "slow frame from client %s: %.2fs (warning above %.2fs)",
                client,
                elapsed,
                cfg.slow_frame_warning,
            )
        return {
            "detections": detections.to_dicts(),
            "processing_time": round(elapsed, 6),
            "width": result.width,
            "height": result.height,
            "cached": cached,
        }

    def _current_detection(self) -> ClientDetection | None:
        """The manager's ClientDetection; the cache is emptied whenever it changes, so a
        restart with another model never answers from the old one's results."""
        detection = self._detection()
        if detection is not self._cache_source:
            self.cache.clear()
            self._cache_source = detection
        return detection

    def _prepare(self, payload: FramePayload) -> CachedResult | PreparedFrame:
        """On a worker thread: decode base64, hash the whole image, look it up, decode it."""
        data = payload.image_bytes(self.config.max_payload_bytes)
        key = image_key(data)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        image = decode_image(data, self.config.max_image_pixels)
        height, width = image.shape[:2]
        return PreparedFrame(key, fit_longest_side(image, self.config.max_side), width, height)
