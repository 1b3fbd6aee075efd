"""How many frames the detector process gives one model call: batches on a device, up to two
frames per call, taken at once, for each of several CPU lanes."""

from __future__ import annotations

from dataclasses import replace

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector
from atalaia.frames import FrameRef
from atalaia.pipeline.batcher import DetectRequest, RequestBatcher
from atalaia.pipeline.detector_worker import batch_wait_s, frames_per_call, runs_on_device


def test_cpu_lanes_take_two_frames_and_one_lane_or_a_device_takes_batches() -> None:
    assert frames_per_call(8, lanes=1) == 8
    assert frames_per_call(8, lanes=2) == 2
    assert frames_per_call(1, lanes=2) == 1  # never more than batch_max
    # On an H200, two lanes of one frame each ran 324 detections/s against 449 for batches.
    assert frames_per_call(32, lanes=2, on_device=True) == 32
    assert frames_per_call(32, lanes=1, on_device=True) == 32


def test_the_device_is_read_from_the_provider_the_model_runs_on() -> None:
    detector = build_detector(OnnxDetectorConfig())
    try:
        info = detector.info
    finally:
        detector.close()
    assert info.providers[0] == "CPUExecutionProvider"
    assert not runs_on_device(info)
    on_cuda = replace(info, providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert runs_on_device(on_cuda)
    assert runs_on_device(replace(info, providers=("TensorrtExecutionProvider",)))
    assert not runs_on_device(replace(info, providers=()))


def _request(camera: str, received: float) -> DetectRequest:
    return DetectRequest(FrameRef(camera, 0, 1, 1000.0), 10.0, received)


def test_cpu_lanes_never_wait_for_a_batch_to_fill() -> None:
    """A lone frame goes to an idle CPU lane at once; frames that queued go two a call."""
    assert batch_wait_s(5.0, lanes=1) == 0.005
    assert batch_wait_s(5.0, lanes=2, on_device=True) == 0.005
    batcher = RequestBatcher(frames_per_call(8, lanes=2), batch_wait_s(5.0, lanes=2))
    batcher.offer(_request("cam0", received=10.0))
    batch, _ = batcher.take(10.0, 1000.0)  # the moment it came: no wait for a second one
    assert [r.ref.camera for r in batch] == ["cam0"]
    for i, camera in enumerate(["cam1", "cam2", "cam3"]):
        batcher.offer(_request(camera, received=11.0 + i))
    batch, _ = batcher.take(11.0, 1000.0)
    assert [r.ref.camera for r in batch] == ["cam1", "cam2"]  # the two that waited longest
