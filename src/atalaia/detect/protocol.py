"""What every detector offers the camera pipeline, the detector process and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from atalaia.detect.detections import Detections


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """What was loaded and how it runs: for logs at start-up, status pages and health checks."""

    type: str
    model: str
    model_format: str
    input_width: int
    input_height: int
    num_classes: int
    providers: tuple[str, ...]
    model_batch: int | None  # fixed batch axis of the model; None when dynamic
    concurrent_runs: int
    intra_op_threads: int
    latency_session: bool  # a second session, every core in one call, for lone frames
    io_binding: bool
    # `latency_session: auto`: a lone frame timed at start through the solo session and
    # through one main-session call (ms), which decided `latency_session`; None otherwise.
    lone_frame_ms: tuple[float, float] | None = None
    # "fit": each call's input is the smallest multiple of the model's stride, within
    # input_width x input_height, that holds its frames; "square": always the full input.
    input_shape: Literal["fit", "square"] = "square"
    # `call_batches`: the sizes every model call is padded to, one session each; () for none.
    call_batches: tuple[int, ...] = ()
    # `input_upload`: "uint8" when batches cross as pixels and are scaled by the provider.
    input_upload: Literal["float", "uint8"] = "float"
    # `prep_threads`: threads that letterbox and decode the frames of one model call.
    prep_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Detector(Protocol):
    """A model loaded once that finds objects in batches of frames.

    `detect` takes BGR uint8 frames of any sizes (H x W x 3) and returns one `Detections` per
    frame, in order, boxes in pixels of that frame. It raises `InvalidFrameError` for a bad
    frame before touching the model, so the caller can answer that request and go on.
    Calls are serialised internally; the detector itself may use several threads per call.
    """

    @property
    def class_names(self) -> tuple[str, ...]: ...

    @property
    def info(self) -> DetectorInfo: ...

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]: ...

    def close(self) -> None: ...


@runtime_checkable
class LaneDetector(Detector, Protocol):
    """A detector whose model calls may run side by side, one per caller thread ("lane").

    After `open_lanes()` (which says how many lanes there are), `detect_on_lane(lane, frames)`
    is `detect` on lane `lane` (0 <= lane < lanes); calls on different lanes run at once, calls
    on one lane one after the other. A caller that keeps a thread per lane hands each its next
    frames as soon as it is free, instead of waiting for every share of a batch to finish.
    """

    def open_lanes(self) -> int: ...

    def detect_on_lane(
        self, lane: int, frames: Sequence[NDArray[np.uint8]]
    ) -> list[Detections]: ...
