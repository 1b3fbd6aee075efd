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


def test_what_waits_is_spread_over_the_idle_lanes() -> None:
    """Two frames and two idle CPU lanes run side by side, one each; a lane takes two only
    when more wait than there are idle lanes."""

    def spread(waiting: int, idle: int, batch_max: int = 2) -> list[list[str]]:
        batcher = RequestBatcher(batch_max, batch_wait_s(5.0, lanes=2))
        for i in range(waiting):
            batcher.offer(_request(f"cam{i}", received=10.0 + i))
        batches, stale = batcher.take_spread(idle, 20.0, 1000.0)
        assert stale == []
        assert len(batcher) == waiting - sum(len(b) for b in batches)
        return [[r.ref.camera for r in batch] for batch in batches]

    assert spread(2, idle=2) == [["cam0"], ["cam1"]]
    assert spread(3, idle=2) == [["cam0", "cam1"], ["cam2"]]
    assert spread(6, idle=2) == [["cam0", "cam1"], ["cam2", "cam3"]]  # four stay
    assert spread(3, idle=1) == [["cam0", "cam1"]]
    assert spread(1, idle=2) == [["cam0"]]
    assert spread(0, idle=2) == []
    # One lane of batches (a device): everything waiting, up to batch_max, in one call.
    assert spread(5, idle=1, batch_max=32) == [["cam0", "cam1", "cam2", "cam3", "cam4"]]


def test_stale_requests_are_dropped_while_spreading() -> None:
    batcher = RequestBatcher(2, 0.0)
    batcher.offer(DetectRequest(FrameRef("old", 0, 1, 900.0), 10.0, 1.0))  # 100 s old
    batcher.offer(_request("cam1", received=2.0))
    batches, stale = batcher.take_spread(2, 20.0, 1000.0)
    assert [r.ref.camera for r in stale] == ["old"]
    assert [[r.ref.camera for r in b] for b in batches] == [["cam1"]]
