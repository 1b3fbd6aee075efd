"""From a list of frames to model calls and back: the batching shared by every ONNX detector.

A batch is split into `concurrent_runs` contiguous shares. Each share is pre-processed into its
own reusable input tensor, sent to the model (whole, when the batch axis is dynamic; in
model-sized pieces when it is fixed), and decoded, on its own thread; the calling thread takes
the first share. ONNX Runtime, cv2.resize and the numpy kernels all release the GIL, so shares
really run side by side. A batch too small to give every worker a frame goes, whole, to the
solo session instead, which uses every core in one call (see `atalaia.detect.runtime`).

A caller that keeps its own threads may instead drive each single-threaded run as a *lane*
(`detect_on_lane`): every lane takes its next frames as soon as it is free, so no core waits
for the slowest share of a batch, and a frame that arrives during a model call starts on the
next free lane rather than after the whole batch. The detector process does that
(`atalaia.pipeline.detector_lanes`); it lets the solo session go (`open_lanes`).
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from atalaia.detect.detections import Detections
from atalaia.detect.errors import DetectorError
from atalaia.detect.frames import validate_frames
from atalaia.detect.letterbox import (
    InputTensor,
    Letterbox,
    PixelTransform,
    fitted_shape,
    letterbox_into,
)
from atalaia.detect.protocol import DetectorInfo
from atalaia.detect.runtime import ModelSessions
from atalaia.detect.session import OnnxModel, PixelBatch

_T = TypeVar("_T")

# Decodes frame `index` of one model call's outputs, placed by `letterbox`.
FrameDecoder = Callable[[list[NDArray[np.float32]], int, Letterbox], Detections]


class BatchEngine:
    """Runs batches of frames through one model, `concurrent_runs` calls at a time."""

    def __init__(
        self,
        sessions: ModelSessions,
        input_hw: tuple[int, int],
        pixels: PixelTransform,
        decode_frame: FrameDecoder,
        batch_max: int,
        fit_stride: int | None = None,
    ) -> None:
        """`fit_stride`: give each call the smallest input, in multiples of it, that holds its
        frames (`fitted_shape`); None: always `input_hw`."""
        self._sessions = sessions
        self._input_hw = input_hw
        self._fit_stride = fit_stride
        self._pixels = pixels
        self._decode_frame = decode_frame
        self._call_batch = sessions.main.input.batch  # None: dynamic batch axis
        # With sized sessions (`call_batches`) a call holds at most the largest size.
        largest = sessions.sized[-1][0] if sessions.sized else batch_max
        self._batch_max = self._call_batch or largest
        workers = sessions.concurrent_runs
        dtype: type[np.uint8] | type[np.float32] | type[np.float16]
        dtype = sessions.main.input.dtype  # float16 for a half-precision model
        if sessions.uint8_input:  # pixels cross as bytes, scaled where the model runs
            upload = sessions.main.pixel_upload(pixels)
            for model in sessions.models():
                model.take_pixels(upload)
            dtype = np.uint8
        self._tensors = [InputTensor(*input_hw, dtype) for _ in range(workers)]
        self._pool = (
            ThreadPoolExecutor(workers - 1, thread_name_prefix="atalaia-detect")
            if workers > 1
            else None
        )
        # `prep_threads`: the letterbox and decoding of one call's frames, spread over threads
        # (shared by the lanes); None: the calling thread does them.
        self._prep = (
            ThreadPoolExecutor(sessions.prep_threads, thread_name_prefix="atalaia-prep")
            if sessions.prep_threads > 1
            else None
        )
        # One lock per tensor: a lane holds its own; a whole batch holds them all, in order.
        self._locks = [threading.Lock() for _ in self._tensors]
        self._closed = False

    @property
    def lanes(self) -> int:
        """Model calls that may run at once, each from its own caller thread."""
        return len(self._tensors)

    def open_lanes(self) -> int:
        """From now on frames come one lane at a time (`detect_on_lane`): the solo session is
        let go, and the number of lanes returned.

        A lone frame on every core would stop the other lanes for its whole call, and under
        load its threads wait for each other: measured in the pipeline (2-core Xeon, 8
        cameras at 320), lone frames borrowing the solo session whenever the other lane was
        idle brought 40 detections/s down to 24-30.
        """
        with self._all_locks():
            if self._sessions.solo is not None:
                self._sessions = replace(self._sessions, solo=None)
        return self.lanes

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        ready = validate_frames(frames)
        if not ready:
            return []
        with self._all_locks():
            self._check_open()
            solo = self._sessions.solo
            if solo is not None and len(ready) < len(self._tensors):
                return self._run_share(solo, 0, ready)
            return self._run_split(ready)

    def detect_on_lane(self, lane: int, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        """`frames` through one single-threaded model call of lane `lane` (0 <= lane <
        `lanes`), beside whatever the other lanes run."""
        if not 0 <= lane < self.lanes:
            raise ValueError(f"lane {lane} out of range: this detector has {self.lanes}")
        ready = validate_frames(frames)
        if not ready:
            return []
        with self._locks[lane]:
            self._check_open()
            return self._run_share(self._sessions.main, lane, ready)

    @contextlib.contextmanager
    def _all_locks(self) -> Iterator[None]:
        with contextlib.ExitStack() as held:
            for lock in self._locks:
                held.enter_context(lock)
            yield

    def close(self) -> None:
        with self._all_locks():
            self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._prep is not None:
            self._prep.shutdown(wait=True)

    def _check_open(self) -> None:
        if self._closed:
            raise DetectorError("the detector was closed; build a new one")

    def _run_split(self, frames: list[NDArray[np.uint8]]) -> list[Detections]:
        model = self._sessions.main
        shares = _split(frames, len(self._tensors))
        futures: list[Future[list[Detections]]] = []
        if self._pool is not None:
            futures = [
                self._pool.submit(self._run_share, model, worker, share)
                for worker, share in enumerate(shares[1:], start=1)
            ]
        try:
            first = self._run_share(model, 0, shares[0])
        finally:
            wait(futures)  # never leave a worker writing a tensor after the lock is gone
        results = [first, *(f.result() for f in futures)]
        return [detections for share in results for detections in share]

    def _run_share(
        self, model: OnnxModel, worker: int, frames: list[NDArray[np.uint8]]
    ) -> list[Detections]:
        tensor = self._tensors[worker]
        out: list[Detections | None] = [None] * len(frames)
        for hw, indices in self._by_shape(frames):
            for start in range(0, len(indices), self._batch_max):
                part = indices[start : start + self._batch_max]
                call_model, size = self._call_for(model, len(part))
                batch = tensor.batch(size, hw)
                found = self._call(call_model, batch, [frames[i] for i in part])
                for i, detections in zip(part, found, strict=True):
                    out[i] = detections
        return [detections for detections in out if detections is not None]

    def _call(
        self, model: OnnxModel, batch: PixelBatch, frames: list[NDArray[np.uint8]]
    ) -> list[Detections]:
        """One model call on `frames`, letterboxed into the first slots of `batch`."""
        placed = self._each(
            len(frames), lambda slot: letterbox_into(frames[slot], batch[slot], self._pixels)
        )
        batch[len(frames) :] = 0  # unused slots of a fixed-size batch: defined input
        outputs = model.run(batch)
        return self._each(len(frames), lambda slot: self._decode_frame(outputs, slot, placed[slot]))

    def _each(self, count: int, work: Callable[[int], _T]) -> list[_T]:
        """`work(0)` .. `work(count - 1)` in order, in contiguous runs on the prep threads when
        there are some (cv2.resize, the letterbox's copies and numpy's kernels release the GIL)."""
        if self._prep is None or count < 2:
            return [work(k) for k in range(count)]
        runs = min(self._sessions.prep_threads, count)
        bounds = [count * r // runs for r in range(runs + 1)]
        futures = [
            self._prep.submit(lambda a, b: [work(k) for k in range(a, b)], bounds[r], bounds[r + 1])
            for r in range(runs)
        ]
        return [result for future in futures for result in future.result()]

    def _call_for(self, model: OnnxModel, frames: int) -> tuple[OnnxModel, int]:
        """The session and batch size a call of `frames` frames runs with: the model's fixed
        batch, else the smallest sized session that holds them (`call_batches`), else
        `model` at the frames' own count."""
        if self._call_batch:
            return model, self._call_batch
        for size, sized in self._sessions.sized:
            if size >= frames:
                return sized, size
        return model, frames

    def _by_shape(
        self, frames: list[NDArray[np.uint8]]
    ) -> list[tuple[tuple[int, int] | None, list[int]]]:
        """The frames' indices grouped by the input each needs (one group, the configured
        input, unless fitted). A frame is always run at its own fitted shape, never padded
        to a larger companion's: its detections do not depend on what it was batched with."""
        if self._fit_stride is None:
            return [(None, list(range(len(frames))))]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, frame in enumerate(frames):
            hw = fitted_shape(frame.shape[:2], self._input_hw, self._fit_stride)
            groups.setdefault(hw, []).append(index)
        return list(groups.items())


class EngineDetector(ABC):
    """What every detector plugin on ONNX Runtime shares once its model is open: batches run
    through a `BatchEngine`, each frame decoded by the plugin's `_decode_frame`.

    A plugin opens its sessions, reads what it needs from the model, then calls this
    constructor last: from then on the detector can take frames.
    """

    def __init__(
        self,
        sessions: ModelSessions,
        input_hw: tuple[int, int],
        pixels: PixelTransform,
        batch_max: int,
        class_names: tuple[str, ...],
        describe: tuple[str, str],
        fit_stride: int | None = None,
    ) -> None:
        """`describe`: the (plugin type, model format) shown in the detector's `info`;
        `fit_stride`: see `BatchEngine` (only for a decoder that does not depend on the
        input's size)."""
        self._sessions = sessions
        self._input_hw = input_hw
        self._class_names = class_names
        self._engine = BatchEngine(
            sessions, input_hw, pixels, self._decode_frame, batch_max, fit_stride
        )
        self._info = replace(
            sessions.describe(*describe, input_hw, class_names),
            input_shape="square" if fit_stride is None else "fit",
        )

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    @property
    def info(self) -> DetectorInfo:
        return self._info

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._engine.detect(frames)

    def open_lanes(self) -> int:
        lanes = self._engine.open_lanes()
        self._info = replace(self._info, latency_session=False)
        return lanes

    def detect_on_lane(self, lane: int, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        return self._engine.detect_on_lane(lane, frames)

    def close(self) -> None:
        self._engine.close()

    @abstractmethod
    def _decode_frame(
        self, outputs: list[NDArray[np.float32]], index: int, letterbox: Letterbox
    ) -> Detections:
        """The detections of frame `index` of one model call, in the frame's pixels."""


def _split(frames: list[NDArray[np.uint8]], parts: int) -> list[list[NDArray[np.uint8]]]:
    """Contiguous shares as equal as possible; never an empty share."""
    parts = min(parts, len(frames))
    size, extra = divmod(len(frames), parts)
    shares: list[list[NDArray[np.uint8]]] = []
    start = 0
    for part in range(parts):
        end = start + size + (1 if part < extra else 0)
        shares.append(frames[start:end])
        start = end
    return shares
