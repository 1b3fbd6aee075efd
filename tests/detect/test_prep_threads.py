"""`prep_threads`: the letterbox and decoding of one model call's frames spread over threads.

On an H200 one thread letterboxing and decoding a batch of 32 frames took about as long as the
model call itself (docs/benchmarks.md), so on a GPU these run on a few threads. Here, on the
CPU, the threads are set explicitly: the same code path, real model, real frames.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, engine
from atalaia.detect.runtime import PREP_THREADS_GPU, plan_prep_threads, usable_cores

from .test_batching import assert_same, eight_frames


def test_auto_is_one_thread_on_the_cpu_and_several_on_a_gpu() -> None:
    assert plan_prep_threads("auto", on_gpu=False) == 1
    assert plan_prep_threads("auto", on_gpu=True) == min(PREP_THREADS_GPU, usable_cores())
    assert plan_prep_threads(3, on_gpu=False) == 3
    detector = build_detector(OnnxDetectorConfig())
    try:
        assert detector.info.prep_threads == 1
    finally:
        detector.close()


def test_frames_of_one_call_are_prepared_on_several_threads_with_the_same_detections(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = OnnxDetectorConfig(concurrent_runs=1, batch_max=8, input_shape="square")
    frames = eight_frames(photo)  # one call of 8 frames of several sizes
    reference_detector = build_detector(plain)
    try:
        reference = reference_detector.detect(frames)
    finally:
        reference_detector.close()

    # The first letterbox (and decode) on each of two prep threads waits for the other: this
    # passes only when the frames of one call really are prepared at the same time.
    meet = {
        "letterbox": threading.Barrier(2, timeout=10),
        "decode": threading.Barrier(2, timeout=10),
    }
    seen: dict[str, set[str]] = {"letterbox": set(), "decode": set()}

    def record(kind: str) -> None:
        name = threading.current_thread().name
        if name not in seen[kind] and len(seen[kind]) < 2:
            seen[kind].add(name)
            meet[kind].wait()
        seen[kind].add(name)

    real_letterbox = engine.letterbox_into

    def recording_letterbox(*args: object, **kwargs: object) -> object:
        record("letterbox")
        return real_letterbox(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "letterbox_into", recording_letterbox)
    detector = build_detector(plain.model_copy(update={"prep_threads": 3}))
    real_decode = detector._engine._decode_frame  # type: ignore[attr-defined]

    def recording_decode(*args: object) -> object:
        record("decode")
        return real_decode(*args)

    monkeypatch.setattr(detector._engine, "_decode_frame", recording_decode)  # type: ignore[attr-defined]
    try:
        assert detector.info.prep_threads == 3
        seen["letterbox"].clear()  # the warm-up at start letterboxed nothing, but be sure
        results = detector.detect(frames)
    finally:
        detector.close()
    for kind, names in seen.items():
        assert all(name.startswith("atalaia-prep") for name in names), f"{kind} ran on {names}"
    assert len(results) == len(frames)
    for index, (got, want) in enumerate(zip(results, reference, strict=True)):
        assert_same(got, want, f"frame {index}")
