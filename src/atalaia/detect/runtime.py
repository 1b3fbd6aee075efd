"""How a detector's model is opened: providers, thread plan, and the optional solo session.

Measured on this 2-core CPU with YOLO11n (docs/benchmarks.md), two facts pull apart:

- For a batch, one single-threaded model call per core, side by side, gives the most images
  per second (each core stays busy from the first layer to the last, nothing synchronises).
- For a lone frame, that plan leaves every core but one idle: one call using every core is
  about 1.7x faster.

So on CPU the model may be opened twice from the same file: the main session (one thread per
call, `concurrent_runs` calls at once) for batches, and a solo session (every core in one call)
for batches smaller than `concurrent_runs`, which is what a lightly loaded detector sees. The
solo session costs one more copy of the weights and working memory (peak RSS 310 instead of
226 MiB for lone frames at 640). Whether it pays is a property of the CPU, not a rule: on a
2-core Xeon of the same family the lone frame was 1.7x faster through it one day, and slower
(48 vs 55 images/s) on another. So with `latency_session: auto` (the default) both sessions
time a lone frame at start, after the warm-up, and the solo session is kept only when it is
clearly faster (`SOLO_MARGIN`); `true` keeps it, `false` never opens it. The timings are in the
detector's `info` (`lone_frame_ms`) and its start-up log. On a GPU there is one session and one
call at a time. The detector process runs the main session's calls as lanes and lets the solo
session go (`BatchEngine.open_lanes`): under its load a lone frame on every core stopped the
other lane; the solo session serves `detect` callers such as `atalaia detect`.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from atalaia.config.detectors import OnnxRuntimeSettings
from atalaia.detect.errors import ModelLoadError
from atalaia.detect.protocol import DetectorInfo
from atalaia.detect.providers import DEVICE_MEMORY_PROVIDERS, resolve_providers
from atalaia.detect.session import OnnxModel

log = logging.getLogger(__name__)

# The solo session is kept when a lone frame takes at most this fraction of the time it takes
# through one main-session call: a tie is not worth its memory.
SOLO_MARGIN = 0.9
LONE_FRAME_ROUNDS = 3
# prep_threads auto on a GPU: letterbox and decoding of one call, at most this many at once.
PREP_THREADS_GPU = 8


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan_threads(
    intra_op_threads: int | None, concurrent_runs: int | None, on_gpu: bool
) -> tuple[int, int]:
    """(intra-op threads per call, concurrent calls) from configuration and the machine.

    CPU: by default one single-threaded call per core. GPU: one call at a time, with the
    CPU threads left for the few operators that fall back to the CPU.
    """
    cores = usable_cores()
    if concurrent_runs is None:
        if on_gpu:
            concurrent_runs = 1
        elif intra_op_threads is None:
            concurrent_runs = cores
        else:
            concurrent_runs = max(1, cores // intra_op_threads)
    if intra_op_threads is None:
        intra_op_threads = max(1, cores // concurrent_runs)
    return intra_op_threads, concurrent_runs


@dataclass(frozen=True, slots=True)
class ModelSessions:
    """The sessions of one model file and the thread plan they were opened with."""

    main: OnnxModel
    solo: OnnxModel | None
    intra_op_threads: int
    concurrent_runs: int
    measure_solo: bool = False  # latency_session: auto, and a solo session was opened
    lone_frame_ms: tuple[float, float] | None = None  # (solo, one main call), when measured
    # `call_batches`: (batch size, the session that runs only that size), smallest first; the
    # largest is `main`. Empty: calls run at their own size on `main`.
    sized: tuple[tuple[int, OnnxModel], ...] = ()
    # `input_upload`: batches go to the model as uint8 pixels, scaled where the model runs.
    uint8_input: bool = False
    # `prep_threads`: threads that letterbox and decode the frames of one model call.
    prep_threads: int = 1

    def models(self) -> tuple[OnnxModel, ...]:
        """Every session of the model, once each: main, the other sized ones, solo."""
        others = [model for _, model in self.sized[:-1]]
        return (self.main, *others, *([self.solo] if self.solo is not None else []))

    def warm_up(self, input_hw: tuple[int, int]) -> list[tuple[int, ...]]:
        """Warm every session up, each sized one at its own size (on CUDA that first call
        plans the convolutions for the shape, seconds, so it is paid here and not by the
        first frames); the main session's output shapes."""
        if self.solo is not None:
            self.solo.warm_up(input_hw)
        for size, model in self.sized[:-1]:
            model.warm_up(input_hw, size)
        return self.main.warm_up(input_hw, self.sized[-1][0] if self.sized else None)

    def settled(self, input_hw: tuple[int, int]) -> ModelSessions:
        """With `latency_session: auto`: time a lone frame through both sessions (after
        `warm_up`) and keep the solo session only when it is clearly faster."""
        if not self.measure_solo or self.solo is None:
            return self
        frame = np.zeros((self.main.input.batch or 1, 3, *input_hw), self.main.input.dtype)
        solo_ms, main_ms = [], []
        for _ in range(LONE_FRAME_ROUNDS):  # alternated, so a burst of load hits both
            solo_ms.append(_timed_ms(self.solo, frame))
            main_ms.append(_timed_ms(self.main, frame))
        timing = (round(statistics.median(solo_ms), 2), round(statistics.median(main_ms), 2))
        keep = timing[0] <= SOLO_MARGIN * timing[1]
        log.info(
            "lone frame at %dx%d: %.1f ms on %d threads in one call, %.1f ms on %d: %s",
            input_hw[1], input_hw[0], timing[0], self.solo.intra_op_threads, timing[1],
            self.intra_op_threads,
            "keeping the solo session" if keep else "lone frames go to the main session",
        )  # fmt: skip
        return replace(
            self, solo=self.solo if keep else None, measure_solo=False, lone_frame_ms=timing
        )

    def describe(
        self, type_name: str, model_format: str, input_hw: tuple[int, int], names: tuple[str, ...]
    ) -> DetectorInfo:
        return DetectorInfo(
            type=type_name,
            model=str(self.main.path),
            model_format=model_format,
            input_width=input_hw[1],
            input_height=input_hw[0],
            num_classes=len(names),
            providers=tuple(self.main.active_providers),
            model_batch=self.main.input.batch,
            concurrent_runs=self.concurrent_runs,
            intra_op_threads=self.intra_op_threads,
            latency_session=self.solo is not None,
            io_binding=self.main.uses_io_binding,
            lone_frame_ms=self.lone_frame_ms,
            call_batches=tuple(size for size, _ in self.sized),
            input_upload="uint8" if self.uint8_input else "float",
            prep_threads=self.prep_threads,
        )


def open_sessions(path: Path, settings: OnnxRuntimeSettings) -> ModelSessions:
    """Open `path` as configured; raises `ModelLoadError` for a file that cannot be used."""
    providers = resolve_providers(settings)
    on_gpu = providers[0][0] in DEVICE_MEMORY_PROVIDERS
    intra, concurrent = plan_threads(settings.intra_op_threads, settings.concurrent_runs, on_gpu)
    main = OnnxModel(path, providers, intra, concurrent, settings.io_binding)
    uint8 = settings.input_upload == "uint8" or (
        settings.input_upload == "auto" and on_gpu and main.uses_io_binding
    )
    prep = plan_prep_threads(settings.prep_threads, on_gpu)
    sizes = call_batch_sizes(settings.call_batches, settings.batch_max, on_gpu)
    if sizes and main.input.batch is None:
        sized = tuple(
            (size, OnnxModel(path, providers, intra, concurrent, settings.io_binding))
            for size in sizes[:-1]
        )
        return ModelSessions(
            main,
            None,
            intra,
            concurrent,
            sized=(*sized, (sizes[-1], main)),
            uint8_input=uint8,
            prep_threads=prep,
        )
    solo = None
    cores = usable_cores()
    if settings.latency_session is not False and not on_gpu and concurrent > 1 and cores > intra:
        solo = OnnxModel(path, providers, cores, 1, settings.io_binding)
    measure = settings.latency_session == "auto" and solo is not None
    return ModelSessions(
        main,
        solo,
        intra,
        concurrent,
        measure_solo=measure,
        uint8_input=uint8,
        prep_threads=prep,
    )


def plan_prep_threads(configured: int | Literal["auto"], on_gpu: bool) -> int:
    """Threads that letterbox and decode one call's frames. auto: on a GPU the CPU side of a
    call is the bottleneck and the cores are otherwise idle, so up to `PREP_THREADS_GPU`; on
    the CPU every core already runs a model call (a lane), so one."""
    if configured != "auto":
        return configured
    return min(PREP_THREADS_GPU, usable_cores()) if on_gpu else 1


def call_batch_sizes(
    configured: list[int] | Literal["auto"], batch_max: int, on_gpu: bool
) -> tuple[int, ...]:
    """The batch sizes model calls are padded to, smallest first; () for none.

    auto, on a GPU: powers of two below `batch_max`, and `batch_max`. A call of n frames runs
    at the smallest size >= n: at most twice the frames computed, against one shape per
    session. On the CPU a kernel does not depend on the shape it saw last, so padding would
    only add work: none.
    """
    if configured == "auto":
        if not on_gpu:
            return ()
        powers = [1 << i for i in range(batch_max.bit_length()) if 1 << i < batch_max]
        return (*powers, batch_max)
    return tuple(sorted(set(configured)))


def _timed_ms(model: OnnxModel, batch: np.ndarray) -> float:
    started = time.perf_counter()
    model.run(batch)
    return (time.perf_counter() - started) * 1000


def input_size(model: OnnxModel, configured: int) -> tuple[int, int]:
    """(height, width) of the input tensor: the model's own when fixed, else configured."""
    height, width = model.input.height, model.input.width
    if height is None and width is None:
        return configured, configured
    if height is None or width is None:
        raise ModelLoadError(
            f"model {model.path}: input has one fixed and one dynamic side "
            f"({height} x {width}); export it with both sides fixed or both dynamic"
        )
    if (height, width) != (configured, configured):
        log.warning(
            "model %s has a fixed %dx%d input; input_size %d is ignored",
            model.path,
            width,
            height,
            configured,
        )
    return height, width
