"""The physical limit of the pipeline on a clip: the model alone, batched, less the decoding.

    limit detections/s = model rate x (1 - decode share)

- model rate: images/s of the built-in YOLO11n alone (measured before and after the pipeline
  run, the mean of the two; see `measure_limit`) at the input size, on tensors letterboxed
  beforehand from the clip's own frames into the input the pipeline's detector gives them
  (fitted: 320x256 for a 4:3 clip at 320; or square), no pre- or post-processing timed,
  plain ONNX Runtime sessions (`bench.detector.plain_session`), the better of two plans: one
  single-threaded session per core side by side (threads), batch 4 each; one session using
  every core, batch 8.
- decode cost: CPU seconds per frame to decode the clip with the reader the pipeline uses
  (`atalaia.capture.open_source`: grab and the BGR `retrieve`, as the cameras do for every frame
  they detect), in a process pinned to one core.
- decode share: the fraction of the machine's CPU the cameras' decoding takes at the rate they
  decoded in the pipeline run measured with it:
      decode share = decode CPU-s per frame x captured frames/s (all cameras) / usable cores

The pipeline's saturation detections/s is then printed as a fraction of the limit. The limit
cannot exceed what the cameras offer (captured frames/s): when they offer less, that is said.
Each part runs in its own spawned process, after the pipeline has stopped.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from bench.detector import letterbox, plain_session
from bench.host import cpu_model

from atalaia.capture.errors import EndOfStream
from atalaia.capture.factory import open_source
from atalaia.config.cameras import SourceConfig
from atalaia.detect.formats import YOLO_STRIDE
from atalaia.detect.letterbox import fitted_shape
from atalaia.detect.runtime import usable_cores

SPLIT_BATCH = 4  # per single-threaded session
ONE_SESSION_BATCH = 8


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"CPU {cpu_model()}, {usable_cores()} usable cores, load average {load}"


# ---- decode cost ----------------------------------------------------------------------------


def decode_cost(video: Path, max_frames: int = 600, max_seconds: float = 20.0) -> dict[str, Any]:
    """Decode `video` from its start with the pipeline's reader, in this process pinned to one
    core: CPU seconds per frame for grab (demux + decode) and retrieve (BGR array)."""
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[-1]})
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(SourceConfig(url=str(video), loop=False, realtime=False), Path(tmp))
        grab_s = retrieve_s = 0.0
        frames = 0
        wall = time.perf_counter()
        try:
            while frames < max_frames and time.perf_counter() - wall < max_seconds:
                t0 = time.process_time()
                try:
                    source.grab()
                except EndOfStream:
                    break
                t1 = time.process_time()
                source.retrieve()
                t2 = time.process_time()
                grab_s += t1 - t0
                retrieve_s += t2 - t1
                frames += 1
        finally:
            source.close()
        wall = time.perf_counter() - wall
    if frames == 0:
        raise RuntimeError(f"no frame could be decoded from {video}")
    per_frame = (grab_s + retrieve_s) / frames
    return {
        "frames": frames,
        "grab_ms_per_frame": round(1000 * grab_s / frames, 3),
        "retrieve_ms_per_frame": round(1000 * retrieve_s / frames, 3),
        "decode_cpu_s_per_frame": per_frame,
        "decode_fps_one_core": round(1 / per_frame, 1) if per_frame else None,
        "decode_fps_wall": round(frames / wall, 1),
    }


# ---- the model alone ------------------------------------------------------------------------


def clip_tensors(video: Path, size: int, fit: bool, count: int = 32) -> list[np.ndarray]:
    """The clip's first `count` frames (the pipeline's reader), letterboxed to size x size, or
    with `fit` into the smaller input the detector gives them (`input_shape: fit`)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(SourceConfig(url=str(video), loop=True, realtime=False), Path(tmp))
        try:
            tensors = []
            for _ in range(count):
                source.grab()
                frame = source.retrieve()
                shape = fitted_shape(frame.shape[:2], (size, size), YOLO_STRIDE) if fit else None
                tensors.append(letterbox(frame, size, shape)[0])
        finally:
            source.close()
    return tensors


@dataclass(frozen=True)
class PlanRate:
    plan: str
    sessions: int
    threads: int
    batch: int
    images_per_s: float


def _batches(tensors: list[np.ndarray], batch: int) -> list[np.ndarray]:
    """Every batch of `batch` consecutive tensors the clip gives, wrapping around."""
    n = len(tensors)
    return [
        np.ascontiguousarray(np.stack([tensors[(s + i) % n] for i in range(batch)]))
        for s in range(0, n, batch)
    ]


def plan_rate(
    tensors: list[np.ndarray], sessions: int, threads: int, batch: int, seconds: float
) -> PlanRate:
    """Images/s of `sessions` sessions of `threads` threads, each running `batch`-image calls
    back to back in its own Python thread (ONNX Runtime releases the GIL while it runs)."""
    opened = [plain_session(threads) for _ in range(sessions)]
    name = opened[0].get_inputs()[0].name
    batches = _batches(tensors, batch)
    for session in opened:  # first-call costs
        session.run(None, {name: batches[0]})
    counts = [0] * sessions
    start = threading.Barrier(sessions + 1)
    deadline = [0.0]

    def work(index: int) -> None:
        session, done = opened[index], 0
        start.wait()
        while time.perf_counter() < deadline[0]:
            session.run(None, {name: batches[done % len(batches)]})
            done += 1
        counts[index] = done

    workers = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    plan = f"{sessions} x {threads}-thread session{'s' if sessions > 1 else ''}, batch {batch}"
    return PlanRate(plan, sessions, threads, batch, sum(counts) * batch / elapsed)


def model_alone(video: Path, size: int, fit: bool, seconds: float = 5.0) -> dict[str, Any]:
    """The model alone on the clip's frames at `size` (fitted or square, as the pipeline's
    detector ran them): both plans, the better one kept."""
    cores = usable_cores()
    tensors = clip_tensors(video, size, fit)
    plans = [
        plan_rate(tensors, cores, 1, SPLIT_BATCH, seconds),
        plan_rate(tensors, 1, cores, ONE_SESSION_BATCH, seconds),
    ]
    best = max(plans, key=lambda p: p.images_per_s)
    return {
        "plans": {p.plan: round(p.images_per_s, 1) for p in plans},
        "best_plan": best.plan,
        "input_hw": list(tensors[0].shape[1:]),
        "images_per_s": round(best.images_per_s, 1),
    }


# ---- both, in spawned processes -------------------------------------------------------------


def _child(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], pipe: Connection) -> None:
    try:
        pipe.send(("ok", fn(*args)))
    except Exception as exc:  # reported in the parent
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    pipe.close()


def isolated(fn: Callable[..., dict[str, Any]], *args: Any, timeout: float = 300) -> dict[str, Any]:
    """`fn(*args)` in a freshly spawned process (its own CPU affinity, threads and memory)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(fn, args, sender))
    process.start()
    sender.close()
    if not receiver.poll(timeout):
        process.kill()
        raise RuntimeError(f"{fn.__name__} gave no result in {timeout:g} s")
    status, value = receiver.recv()
    process.join()
    if status != "ok":
        raise RuntimeError(f"{fn.__name__} failed: {value}")
    return dict(value)


def model_alone_before(
    video: Path, size: int, seconds: float = 5.0, fit: bool = True
) -> dict[str, Any]:
    """The model alone measured right before a pipeline run, for `measure_limit(before=...)`."""
    return isolated(model_alone, video, size, fit, seconds)


def measure_limit(
    video: Path,
    size: int,
    captured_per_s: float,
    detections_per_s: float,
    seconds: float = 5.0,
    fit: bool = True,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The limit for a pipeline run that captured `captured_per_s` frames/s (all cameras) and
    detected `detections_per_s`; both measured on `video` at `size` right after it, the model
    on the input the pipeline's detector used (`fit`: fitted to the clip's frames).

    `before`: the model alone measured right before the run as well (`model_alone_before`).
    The model rate is then the mean of the two: a shared VM's speed drifts by a tenth or more
    within minutes (2-core AMD EPYC, 2026-12-04: 104.7 to 123.6 images/s between runs), and a
    limit taken only after the run charged that drift to the pipeline, either way."""
    model = isolated(model_alone, video, size, fit, seconds)
    decode = isolated(decode_cost, video)
    cores = usable_cores()
    share = decode["decode_cpu_s_per_frame"] * captured_per_s / cores
    rate = model["images_per_s"]
    if before is not None:
        rate = (before["images_per_s"] + model["images_per_s"]) / 2
    limit = rate * (1 - share)
    return {
        "model_alone": model,
        "model_alone_before": before,
        "model_rate": round(rate, 1),
        "decode": decode,
        "cores": cores,
        "captured_per_s": round(captured_per_s, 2),
        "decode_share": round(share, 4),
        "limit_detections_per_s": round(limit, 2),
        "fraction_of_limit": round(detections_per_s / limit, 3) if limit > 0 else None,
        "offered_below_limit": captured_per_s < limit,
    }


def describe(result: dict[str, Any], detections_per_s: float) -> list[str]:
    """The lines printed under the table for one saturation run."""
    model, decode = result["model_alone"], result["decode"]
    before = result.get("model_alone_before")
    plans = "; ".join(f"{plan}: {rate}" for plan, rate in model["plans"].items())
    lines = [
        f"model alone at {model['input_hw'][1]}x{model['input_hw'][0]} (the pipeline's "
        f"input), after the run: {model['images_per_s']} images/s, the better of {plans}",
    ]
    if before is not None:
        drift = model["images_per_s"] / before["images_per_s"] - 1
        lines.append(
            f"model alone before the run: {before['images_per_s']} images/s; model rate = the "
            f"mean, {result['model_rate']} (the machine's speed moved {drift:+.0%} meanwhile"
            + ("; compare ratios of such runs with care)" if abs(drift) > 0.1 else ")")
        )
    lines += [
        f"decode: {decode['decode_fps_one_core']} frames/s on one core "
        f"({decode['grab_ms_per_frame']} ms grab + {decode['retrieve_ms_per_frame']} ms "
        f"retrieve per frame, {decode['frames']} frames)",
        f"decode share = {1000 * decode['decode_cpu_s_per_frame']:.2f} ms x "
        f"{result['captured_per_s']} captured frames/s / {result['cores']} cores "
        f"= {result['decode_share']}",
        f"limit detections/s = model rate x (1 - decode share) = {result['model_rate']} x "
        f"(1 - {result['decode_share']}) = {result['limit_detections_per_s']}",
        f"pipeline saturation: {detections_per_s} detections/s = "
        f"{result['fraction_of_limit']} of the limit",
    ]
    if result["offered_below_limit"]:
        lines.append(
            f"note: the cameras offer only {result['captured_per_s']} frames/s, below the limit: "
            "the pipeline cannot reach it; add cameras (--cameras) for a saturation figure"
        )
    return lines
