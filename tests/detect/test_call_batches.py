"""`call_batches`: every model call padded to a few sizes, each size on its own session.

On CUDA a change of input shape made ONNX Runtime plan the convolutions again (seconds on an
H200, docs/gpu.md), so there a session must only ever see one shape. These tests run on the
CPU with the sizes set explicitly: the same code path, real model, real sessions.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector
from atalaia.detect.runtime import call_batch_sizes
from atalaia.detect.session import OnnxModel

from .test_batching import assert_same, eight_frames


def test_auto_sizes_are_powers_of_two_and_batch_max_on_a_gpu_only() -> None:
    assert call_batch_sizes("auto", 8, on_gpu=True) == (1, 2, 4, 8)
    assert call_batch_sizes("auto", 12, on_gpu=True) == (1, 2, 4, 8, 12)
    assert call_batch_sizes("auto", 1, on_gpu=True) == (1,)
    assert call_batch_sizes("auto", 32, on_gpu=False) == ()
    assert call_batch_sizes([4, 1, 4], 8, on_gpu=False) == (1, 4)
    assert call_batch_sizes([], 8, on_gpu=True) == ()


def test_a_size_above_batch_max_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError, match=r"call_batches \[1, 16\] has a size above batch_max"):
        OnnxDetectorConfig(batch_max=8, call_batches=[1, 16])


def test_each_session_sees_one_shape_and_detections_do_not_change(
    photo: NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = OnnxDetectorConfig(concurrent_runs=1, batch_max=4, input_shape="square")
    frames = eight_frames(photo)
    reference_detector = build_detector(plain)
    try:
        reference = reference_detector.detect(frames)
    finally:
        reference_detector.close()
    detector = build_detector(plain.model_copy(update={"call_batches": [1, 4]}))
    assert detector.info.call_batches == (1, 4)
    shapes: dict[int, set[tuple[int, ...]]] = defaultdict(set)
    real_run = OnnxModel.run

    def recording_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        shapes[id(self)].add(batch.shape)
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", recording_run)
    try:
        # 1 frame: the size-1 session; 3 frames: padded to 4; 7: one call of 4, one of 3 -> 4.
        results = [detector.detect(frames[:count]) for count in (1, 3, 7)]
    finally:
        detector.close()
    assert len(shapes) == 2, "one session per size"
    assert sorted(next(iter(s))[0] for s in shapes.values()) == [1, 4]
    assert all(len(seen) == 1 for seen in shapes.values()), f"a session saw {dict(shapes)}"
    for count, result in zip((1, 3, 7), results, strict=True):
        assert len(result) == count, "padding slots give no results"
        for index, (b, s) in enumerate(zip(result, reference[:count], strict=True)):
            assert_same(b, s, f"{count} frames, frame {index}")


def test_every_sized_session_is_warmed_at_its_own_size_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []
    real_run = OnnxModel.run

    def recording_run(self: OnnxModel, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        sizes.append(batch.shape[0])
        return real_run(self, batch)

    monkeypatch.setattr(OnnxModel, "run", recording_run)
    detector = build_detector(OnnxDetectorConfig(batch_max=8, call_batches=[1, 2, 8]))
    try:
        assert sorted(sizes) == [1, 2, 8]
        assert detector.info.latency_session is False, "sized sessions replace the solo one"
    finally:
        detector.close()
