"""FrameProcessor with a stand-in for the detector: frames in flight, slow-frame warnings,
decoding off the event loop, options, the cache across detector restarts."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from atalaia.config.realtime import RealtimeConfig
from atalaia.detect import Detections
from atalaia.realtime import FrameProcessor
from atalaia.realtime import processor as processor_module
from tests.realtime.conftest import jpeg


class StandInDetection:
    """Finds a person covering the left half of the frame and a dog on the right."""

    connected = True
    class_names = ("person", "dog")

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[int, int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def detect(self, image: np.ndarray) -> Detections:
        self.calls.append(image.shape[:2])
        await self.release.wait()
        await asyncio.sleep(self.delay)
        h, w = image.shape[:2]
        return Detections(
            xyxy=np.array([[0, 0, w / 2, h], [w / 2, 0, w, h]], np.float32),
            confidence=np.array([0.9, 0.4], np.float32),
            class_id=np.array([0, 1], np.int32),
            class_names=self.class_names,
        )


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(2, thread_name_prefix="frame-decode")
    yield pool
    pool.shutdown()


def processor(executor: ThreadPoolExecutor, detection: Any, **settings: Any) -> FrameProcessor:
    config = RealtimeConfig.model_validate({"min_frame_interval": 0, **settings})
    return FrameProcessor(config, lambda: detection, executor)


def picture(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return jpeg(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


async def test_frames_in_flight_are_bounded_per_client(executor: ThreadPoolExecutor) -> None:
    detection = StandInDetection()
    detection.release.clear()
    frames = processor(executor, detection, max_in_flight=2)
    held = [asyncio.ensure_future(frames.process("a", [picture(64, 48, i)])) for i in range(2)]
    while len(detection.calls) < 2:
        await asyncio.sleep(0.01)
    refused = await frames.process("a", [picture(64, 48, 9), {"frame_id": 3}])
    assert refused.event == "detection_error"
    assert refused.body["code"] == "busy" and refused.body["max_in_flight"] == 2
    assert refused.body["frame_id"] == 3
    other = asyncio.ensure_future(frames.process("b", [picture(64, 48, 10)]))
    await asyncio.sleep(0.1)
    detection.release.set()
    answers = await asyncio.gather(*held, other)
    assert [a.event for a in answers] == ["detection_results"] * 3, "client b was not held up"
    assert frames.in_flight("a") == 0
    assert (await frames.process("a", [picture(64, 48, 11)])).event == "detection_results"


async def test_slow_frames_are_logged(
    executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    frames = processor(executor, StandInDetection(delay=0.15), slow_frame_warning=0.1)
    with caplog.at_level(logging.WARNING, logger="atalaia.realtime.processor"):
        answer = await frames.process("slowpoke", [picture(64, 48)])
    assert answer.body["processing_time"] >= 0.15
    assert any("slow frame from client slowpoke" in r.getMessage() for r in caplog.records)
    caplog.clear()
    fast = processor(executor, StandInDetection(), slow_frame_warning=5)
    with caplog.at_level(logging.WARNING, logger="atalaia.realtime.processor"):
        await fast.process("quick", [picture(64, 48)])
    assert not caplog.records


async def test_decoding_runs_off_the_event_loop(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = processor_module.decode_image

    def recording(data: bytes, max_pixels: int) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return original(data, max_pixels)

    monkeypatch.setattr(processor_module, "decode_image", recording)
    frames = processor(executor, StandInDetection())
    answers = await asyncio.gather(*(frames.process("a", [picture(64, 48, i)]) for i in range(2)))
    assert [a.event for a in answers] == ["detection_results"] * 2
    assert threads and all(name.startswith("frame-decode") for name in threads), threads
    assert threading.current_thread().name not in threads


async def test_large_frames_are_detected_scaled_down(executor: ThreadPoolExecutor) -> None:
    detection = StandInDetection()
    frames = processor(executor, detection, max_side=640)
    answer = await frames.process("a", [picture(1280, 960)])
    assert detection.calls == [(480, 640)]
    body = answer.body
    assert (body["width"], body["height"]) == (1280, 960)
    person = body["detections"][0]["bbox"]
    assert person == {"x": 0.0, "y": 0.0, "width": 640.0, "height": 960.0}


async def test_options_narrow_the_answer(executor: ThreadPoolExecutor) -> None:
    frames = processor(executor, StandInDetection())
    data = picture(64, 48)
    everything = await frames.process("a", [data])
    assert [d["class_name"] for d in everything.body["detections"]] == ["person", "dog"]
    dogs = await frames.process("a", [data, {"classes": ["Dog"]}])
    assert [d["class_name"] for d in dogs.body["detections"]] == ["dog"]
    assert dogs.body["cached"] is True, "options apply after the cache"
    confident = await frames.process("a", [{"image": data, "min_score": 0.5}])
    assert [d["class_name"] for d in confident.body["detections"]] == ["person"]
    unknown = await frames.process("a", [data, {"classes": ["unicorn"]}])
    assert unknown.body["code"] == "invalid_options"


async def test_cache_is_emptied_when_the_detector_changes(executor: ThreadPoolExecutor) -> None:
    current: list[Any] = [StandInDetection()]
    config = RealtimeConfig(min_frame_interval=0)
    frames = FrameProcessor(config, lambda: current[0], executor)
    data = picture(64, 48)
    assert (await frames.process("a", [data])).body["cached"] is False
    assert (await frames.process("a", [data])).body["cached"] is True
    current[0] = None
    gone = await frames.process("a", [data])
    assert gone.body["code"] == "detector_unavailable" and "not running" in gone.body["error"]
    current[0] = StandInDetection()
    assert (await frames.process("a", [data])).body["cached"] is False


async def test_an_unexpected_failure_is_answered(
    executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(StandInDetection):
        async def detect(self, image: np.ndarray) -> Detections:
            raise KeyError("boom")

    frames = processor(executor, Broken())
    with caplog.at_level(logging.ERROR, logger="atalaia.realtime.processor"):
        answer = await frames.process("a", [picture(64, 48), {"frame_id": "x"}])
    assert answer.body == {
        "error": "internal error processing the frame",
        "code": "internal_error",
        "frame_id": "x",
    }
    assert "failed" in caplog.text
    assert frames.in_flight("a") == 0
