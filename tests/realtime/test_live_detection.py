"""Socket.IO against a real service: uvicorn on 127.0.0.1, the real detector process (built-in
model at input 320), real photos. Twenty clients at once, some of them abusive."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from atalaia.demo import demo_frames
from atalaia.detect import sample_image
from atalaia.pipeline.snapshots import detector_snapshot
from tests.realtime.conftest import (
    TOKEN,
    FrameClient,
    LiveService,
    data_url,
    jpeg,
    live_service,
    png,
    realtime_config,
)

INTERVAL = 0.3  # realtime.min_frame_interval of this module's service
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("realtime-live")
    config = realtime_config(tmp, min_frame_interval=INTERVAL, max_in_flight=2)
    with live_service(config, tmp, processing=True) as live:
        yield live


def stamped(image: np.ndarray, a: int, b: int) -> np.ndarray:
    """A copy with a visible label, so every client's frames are different images (a few
    changed pixel values could vanish in JPEG quantisation and give identical files)."""
    out = image.copy()
    cv2.rectangle(out, (0, 0), (110, 22), (0, 0, 0), -1)
    cv2.putText(out, f"{a}-{b}", (2, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return out


def encoded(data: bytes, style: int) -> bytes | str:
    if style == 0:
        return data
    if style == 1:
        return data_url(data)
    return base64.b64encode(data).decode()


def boxes_inside(body: dict[str, Any]) -> bool:
    for det in body["detections"]:
        box = det["bbox"]
        if box["x"] < 0 or box["y"] < 0 or box["width"] <= 0 or box["height"] <= 0:
            return False
        if box["x"] + box["width"] > body["width"] + 0.01:
            return False
        if box["y"] + box["height"] > body["height"] + 0.01:
            return False
    return True


class LoopTicker:
    """Ticks on the server's event loop; the longest gap says how long the loop was blocked."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stop = threading.Event()
        self.ticks = 0
        self.max_gap = 0.0
        self.future = asyncio.run_coroutine_threadsafe(self._run(), loop)

    async def _run(self) -> None:
        last = time.perf_counter()
        while not self.stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    def finish(self) -> None:
        self.stop.set()
        self.future.result(5)


async def ask_until_accepted(
    client: FrameClient, *args: Any, timeout: float = 30.0
) -> tuple[str, dict[str, Any]]:
    """What a well-behaved client does: on `rate_limited`, wait `retry_after`, send again."""
    deadline = time.monotonic() + timeout
    while True:
        event, body = await client.ask(*args)
        if body.get("code") != "rate_limited" or time.monotonic() > deadline:
            return event, body
        await asyncio.sleep(body["retry_after"] + 0.02)


def detector_frames(live: LiveService) -> int:
    stats = detector_snapshot(live.manager.pipeline_status()["detectors"]["default"])
    return stats.frames if stats is not None else 0


@pytest.mark.alone
async def test_twenty_clients_at_once(service: LiveService) -> None:
    frames = demo_frames(seconds=2.0, fps=5)  # 10 different views of the street photo
    small = cv2.resize(frames[0], (160, 120), interpolation=cv2.INTER_AREA)
    clients = [FrameClient(f"client-{i}") for i in range(20)]
    await asyncio.gather(
        *(c.connect(service.url, websocket_only=i % 5 != 0) for i, c in enumerate(clients))
    )
    assert all(c.sio.connected for c in clients)
    async with httpx.AsyncClient(base_url=service.url) as http:
        health = (await http.get("/health")).json()
    assert health["active_connections"] == 20 and health["model_loaded"] is True
    detected_before = detector_frames(service)
    ticker = LoopTicker(service.loop)
    started = time.monotonic()
    steady_for = 7.0
    abuse_window: list[float] = []

    async def steady(index: int, client: FrameClient) -> list[tuple[float, dict[str, Any]]]:
        """Sends at the allowed rate; every second frame repeats the previous image."""
        got: list[tuple[float, dict[str, Any]]] = []
        previous: tuple[bytes | str, dict[str, Any]] | None = None
        round_ = 0
        while time.monotonic() - started < steady_for:
            if round_ % 2 and previous is not None:
                payload, first = previous
            else:
                data = jpeg(stamped(frames[(index + round_) % len(frames)], index, round_))
                payload, first = encoded(data, index % 3), {}
            event, body = await ask_until_accepted(client, payload, {"frame_id": round_})
            assert event == "detection_results", f"{client.name}: {body}"
            assert body["frame_id"] == round_
            if round_ % 2:
                assert body["cached"] is True, "the same image again is answered from the cache"
                assert body["detections"] == first["detections"]
            else:
                assert body["cached"] is False
                previous = (payload, body)
            got.append((time.monotonic(), body))
            round_ += 1
            await asyncio.sleep(INTERVAL)
        return got

    async def eager(client: FrameClient) -> None:
        """Three frames back to back: those within the interval are refused with how long to
        wait, and after waiting that long the next frame is accepted. (A frame the server
        reads an interval later, e.g. behind a 20 MB message, is rightly accepted.)"""
        await asyncio.sleep(1.0)
        refused_total = 0
        for round_ in range(3):
            one = jpeg(stamped(frames[round_], 200, round_))
            ids = [f"{round_}{k}" for k in "abc"]
            for frame_id in ids:
                await client.send(one, {"frame_id": frame_id})
            got = {b["frame_id"]: (e, b) for e, b in [await client.next_answer() for _ in ids]}
            assert got[ids[0]][0] == "detection_results", got[ids[0]]
            refused = [b for _, b in got.values() if b.get("code") == "rate_limited"]
            assert all(0 < b["retry_after"] <= INTERVAL for b in refused), refused
            refused_total += len(refused)
            await asyncio.sleep(max((b["retry_after"] for b in refused), default=INTERVAL) + 0.1)
        assert refused_total >= 3, "frames sent back to back are refused"

    async def malformed(client: FrameClient) -> None:
        await asyncio.sleep(1.0)
        for bad in ("data:image/jpeg;base64,@@@###not*base64", "%%% not base64 at all %%%"):
            event, body = await ask_until_accepted(client, bad)
            assert (event, body["code"]) == ("detection_error", "invalid_base64"), body
            assert "base64" in body["error"]
            await asyncio.sleep(INTERVAL)
        event, body = await ask_until_accepted(client, jpeg(stamped(frames[1], 201, 0)))
        assert event == "detection_results", "the connection is still usable"

    async def not_an_image(client: FrameClient) -> None:
        await asyncio.sleep(1.0)
        for bad in (b"GIF89a" + bytes(500), os.urandom(4000), jpeg(frames[2])[:300]):
            event, body = await ask_until_accepted(client, bad)
            assert (event, body["code"]) == ("detection_error", "invalid_image"), body
            await asyncio.sleep(INTERVAL)
        event, body = await ask_until_accepted(client, png(stamped(frames[3], 202, 0)))
        assert event == "detection_results"

    async def huge(client: FrameClient) -> None:
        await asyncio.sleep(1.0)
        blob = b"\xff\xd8\xff" + os.urandom(20 * MIB)
        for payload in (blob, data_url(blob)):
            event, body = await client.ask(payload, timeout=60)
            assert (event, body["code"]) == ("detection_error", "payload_too_large"), body
            assert body["max_bytes"] == 10 * MIB
        assert client.sio.connected, "told, not disconnected"
        event, body = await ask_until_accepted(client, jpeg(stamped(frames[4], 203, 0)))
        assert event == "detection_results"

    async def burst(client: FrameClient) -> None:
        await asyncio.sleep(1.0)
        data = jpeg(stamped(small, 204, 0))
        sent = time.monotonic()
        for i in range(1000):
            await client.send(data, {"frame_id": i})
        answers = [await client.next_answer(timeout=60) for _ in range(1000)]
        elapsed = time.monotonic() - sent
        assert sorted(b["frame_id"] for _, b in answers) == list(range(1000))
        kinds = Counter(b.get("code", "result") for _, b in answers)
        assert set(kinds) <= {"result", "rate_limited", "busy"}, kinds
        assert 1 <= kinds["result"] <= 2 + elapsed / INTERVAL, (kinds, elapsed)
        assert kinds["rate_limited"] >= 900, kinds
        abuse_window.extend([sent, time.monotonic()])

    async def options(client: FrameClient) -> None:
        await asyncio.sleep(1.0)
        photo = frames[5]
        event, body = await ask_until_accepted(
            client, {"image": jpeg(stamped(photo, 205, 0)), "classes": ["person"]}
        )
        assert event == "detection_results" and body["detections"]
        assert {d["class_name"] for d in body["detections"]} == {"person"}
        await asyncio.sleep(INTERVAL)
        event, body = await ask_until_accepted(
            client, jpeg(stamped(photo, 205, 1)), {"min_score": 0.6}
        )
        assert all(d["confidence"] >= 0.6 for d in body["detections"]), body
        await asyncio.sleep(INTERVAL)
        event, body = await ask_until_accepted(client, jpeg(photo), {"classes": ["unicorn"]})
        assert (event, body["code"]) == ("detection_error", "invalid_options")
        assert "unicorn" in body["error"]

    roles = [eager, malformed, not_an_image, huge, burst, options]
    steady_clients = clients[: 20 - len(roles)]
    results = await asyncio.gather(
        *(steady(i, c) for i, c in enumerate(steady_clients)),
        *(role(c) for role, c in zip(roles, clients[len(steady_clients) :], strict=True)),
    )
    ticker.finish()

    steady_results = results[: len(steady_clients)]
    first, last = abuse_window
    for client, got in zip(steady_clients, steady_results, strict=True):
        times = [t for t, _ in got]
        assert len(got) >= 3, f"{client.name} got only {len(got)} results"
        assert any(first <= t <= last + 1.0 for t in times), (
            f"{client.name} got no result while the burst was handled"
        )
        gaps = np.diff([started, *times])
        assert gaps.max() < 5.0, f"{client.name} waited {gaps.max():.1f}s for a result"
    bodies = [body for got in steady_results for _, body in got]
    assert all(boxes_inside(b) for b in bodies), "boxes are in the sent image's pixels"
    fresh = [b for b in bodies if not b["cached"]]
    with_person = sum(any(d["class_name"] == "person" for d in b["detections"]) for b in fresh)
    assert with_person >= 0.8 * len(fresh), f"{with_person} of {len(fresh)} frames show people"

    # Loose: about 0.1 s on an idle machine, during the 20 MB messages and the burst (Engine.IO
    # and Socket.IO parse every message on the loop); a loaded machine stretches it. Inference
    # is in the detector process (counted below), decoding on worker threads (test_processor).
    assert ticker.ticks > 100 and ticker.max_gap < 1.0, (
        f"the event loop stalled for {ticker.max_gap:.3f}s while frames were processed"
    )
    deadline = time.monotonic() + 5
    while detector_frames(service) - detected_before < len(fresh):
        assert time.monotonic() < deadline, "frames were not detected by the detector process"
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=service.url) as http:
        health = (await http.get("/health")).json()
    assert health["cache_size"] >= len(fresh)
    await asyncio.gather(*(c.close() for c in clients))


async def test_boxes_are_in_the_pixels_of_the_sent_image(service: LiveService) -> None:
    """A frame larger than 640 px is detected scaled down; its boxes come back scaled up."""
    photo = cv2.imread(str(sample_image()))
    client = FrameClient()
    await client.connect(service.url)
    _, small = await ask_until_accepted(client, png(photo))
    _, large = await ask_until_accepted(
        client, png(cv2.resize(photo, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    )
    await client.close()
    assert (small["width"], small["height"]) == (700, 466)
    assert (large["width"], large["height"]) == (1400, 932)
    assert len(small["detections"]) >= 3

    def corners(det: dict[str, Any], factor: float) -> np.ndarray:
        b = det["bbox"]
        return np.array([b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]]) * factor

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union

    for det in small["detections"]:
        best = max(
            (
                iou(corners(det, 2.0), corners(o, 1.0))
                for o in large["detections"]
                if o["class_name"] == det["class_name"]
            ),
            default=0.0,
        )
        assert best > 0.8, f"{det['class_name']} at {det['bbox']} not found at twice the size"


async def test_connections_need_the_token(service: LiveService) -> None:
    for token in (None, "wrong-token"):
        client = FrameClient()
        refused: list[Any] = []
        client.sio.on("connect_error", refused.append)
        with pytest.raises(Exception, match="failed to connect"):
            await client.connect(service.url, token=token)
        assert refused and "missing or invalid API token" in str(refused[0])
    by_cookie = FrameClient()
    await by_cookie.connect(service.url, token=None, headers={"Cookie": f"atalaia_token={TOKEN}"})
    assert by_cookie.sio.connected
    await asyncio.sleep(0.2)
    assert by_cookie.welcome is not None and by_cookie.welcome["model_loaded"] is True
    assert by_cookie.welcome["limits"]["min_frame_interval"] == INTERVAL
    await by_cookie.close()


async def test_stopping_processing_says_detector_not_running(service: LiveService) -> None:
    """Runs last in this module: it stops and restarts alert processing."""
    client = FrameClient()
    await client.connect(service.url)
    image = jpeg(stamped(demo_frames(seconds=0.2, fps=5)[0], 230, 0))
    event, _ = await ask_until_accepted(client, image)
    assert event == "detection_results"
    async with httpx.AsyncClient(base_url=service.url, headers={"X-API-Token": TOKEN}) as http:
        assert (await http.post("/background/stop")).json()["changed"] is True
        assert service.manager.client_detection is None
        health = (await http.get("/health")).json()
        assert health["model_loaded"] is False and health["status"] == "degraded"
        await asyncio.sleep(INTERVAL)
        event, body = await ask_until_accepted(client, image)
        assert (event, body["code"]) == ("detection_error", "detector_unavailable")
        assert "detector not running" in body["error"]
        assert (await http.post("/background/start")).json()["changed"] is True
        deadline = time.monotonic() + 60
        while not (await http.get("/health")).json()["model_loaded"]:
            assert time.monotonic() < deadline, "the detector did not come back"
            await asyncio.sleep(0.2)
    event, body = await ask_until_accepted(client, image)
    assert event == "detection_results" and body["cached"] is False, "the cache was emptied"
    await client.close()
