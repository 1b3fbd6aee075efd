"""Detector throughput and latency: atalaia's batched engine against a plain onnxruntime loop.

Every cell runs in a freshly spawned process (clean peak RSS, no warm caches from a previous
cell) on the built-in YOLO11n, with camera-like frames: the shipped photo resized to 1920x1080,
1280x720, 960x540 and 700x466, plain and mirrored, taken in turn.

  baseline  a minimal hand-written single-image loop: letterbox (cv2.resize +
            copyMakeBorder), float tensor, session.run with `--threads` intra-op threads,
            numpy decode and cv2.dnn.NMSBoxesBatched. One frame per call.
  atalaia   `Detector.detect` on batches of 1, 4 and 8 frames with the default thread plan
            (on CPU: a batch split across one single-threaded model call per core; a lone
            frame to the solo session, every core in one call).
  one-call  the same with `concurrent_runs: 1, intra_op_threads: --threads`: the whole batch
            in one call using every thread (the plan for lowest single-frame latency).

Reported per cell: images/s, ms per image (1000 / images/s), p50/p99 latency of one call
(a batch for batched cells), CPU % of the process (100 % = one core), CPU % used meanwhile by
every other process on the machine (anything above a few % means the figures are disturbed),
and the process's peak RSS. Every cell is run `--rounds` times, rounds one after another so a
burst of outside load hits different cells each round; the round with the most images/s is
kept.

Run from the repository root:  .venv/bin/python -m bench.detector [--seconds 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import psutil
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, default_object_model, sample_image
from atalaia.detect.runtime import usable_cores

Frame = NDArray[np.uint8]


@dataclass(frozen=True)
class Cell:
    mode: str  # baseline | atalaia | one-call
    size: int
    batch: int


@dataclass(frozen=True)
class Result:
    mode: str
    size: int
    batch: int
    images_per_s: float
    ms_per_image: float
    p50_call_ms: float
    p99_call_ms: float
    cpu_percent: float
    others_cpu_percent: float
    peak_rss_mib: float
    calls: int


def camera_frames() -> list[Frame]:
    photo = cv2.imread(str(sample_image()), cv2.IMREAD_COLOR)
    sizes = [(1920, 1080), (1280, 720), (960, 540), (700, 466)]
    plain = [np.ascontiguousarray(cv2.resize(photo, size)) for size in sizes]
    return plain + [np.ascontiguousarray(frame[:, ::-1]) for frame in plain]


def plain_session(threads: int) -> ort.InferenceSession:
    """The built-in YOLO11n in a session with ONNX Runtime's defaults and `threads` threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(
        str(default_object_model().model), options, providers=["CPUExecutionProvider"]
    )


def letterbox(
    frame: Frame, size: int, shape: tuple[int, int] | None = None
) -> tuple[NDArray[np.float32], float, int, int]:
    """`frame` scaled into a size x size grey square: (3 x size x size RGB float tensor in
    [0, 1], scale, top, left), the hand-written way (cv2.resize + copyMakeBorder). With
    `shape` (height, width), at the same scale into that smaller grey rectangle instead (the
    detector's fitted input)."""
    height, width = frame.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    out_h, out_w = shape or (size, size)
    top, left = (out_h - new_h) // 2, (out_w - new_w) // 2
    image = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    image = cv2.copyMakeBorder(
        image,
        top,
        out_h - new_h - top,
        left,
        out_w - new_w - left,
        cv2.BORDER_CONSTANT,
        value=(114, 114, 114),
    )
    tensor = np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
    tensor *= 1.0 / 255.0
    return tensor, ratio, top, left


def baseline_detector(size: int, threads: int) -> Callable[[list[Frame]], list[Any]]:
    """What a user writes first: one frame, one session.run, decode, NMS."""
    session = plain_session(threads)
    input_name = session.get_inputs()[0].name

    def detect_one(frame: Frame) -> list[tuple[int, float, list[float]]]:
        tensor, ratio, top, left = letterbox(frame, size)
        output = session.run(None, {input_name: tensor[None]})[0][0]  # (84, N)
        scores = output[4:].max(axis=0)
        classes = output[4:].argmax(axis=0)
        keep = scores > 0.25
        cx, cy, w, h = output[:4, keep]
        boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
        kept = cv2.dnn.NMSBoxesBatched(
            boxes.tolist(), scores[keep].tolist(), classes[keep].tolist(), 0.25, 0.45
        )
        found = []
        for i in np.asarray(kept, dtype=int).reshape(-1):
            x, y, bw, bh = boxes[i]
            box = [
                (x - left) / ratio,
                (y - top) / ratio,
                (x + bw - left) / ratio,
                (y + bh - top) / ratio,
            ]
            found.append((int(classes[keep][i]), float(scores[keep][i]), box))
        return found

    return lambda frames: [detect_one(frame) for frame in frames]


def run_cell(cell: Cell, seconds: float, threads: int) -> Result:
    frames = camera_frames()
    detector = None
    if cell.mode == "baseline":
        detect = baseline_detector(cell.size, threads)
    else:
        plan: dict[str, Any] = {}
        if cell.mode == "one-call":
            plan = {"concurrent_runs": 1, "intra_op_threads": threads}
        detector = build_detector(OnnxDetectorConfig(input_size=cell.size, **plan))
        detect = detector.detect
    for start in range(0, 2 * cell.batch, cell.batch):  # warm-up: first-call costs
        detect([frames[(start + i) % len(frames)] for i in range(cell.batch)])

    process = psutil.Process()
    cpu_before = process.cpu_times()
    machine_before = _busy_seconds(psutil.cpu_times())
    latencies: list[float] = []
    images = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        batch = [frames[(images + i) % len(frames)] for i in range(cell.batch)]
        t0 = time.perf_counter()
        detect(batch)
        latencies.append(time.perf_counter() - t0)
        images += cell.batch
    elapsed = time.perf_counter() - started
    cpu_after = process.cpu_times()
    machine_busy = _busy_seconds(psutil.cpu_times()) - machine_before
    if detector is not None:
        detector.close()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    latencies.sort()
    return Result(
        mode=cell.mode,
        size=cell.size,
        batch=cell.batch,
        images_per_s=images / elapsed,
        ms_per_image=1000 * elapsed / images,
        p50_call_ms=1000 * statistics.median(latencies),
        p99_call_ms=1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        cpu_percent=100 * cpu / elapsed,
        others_cpu_percent=max(0.0, 100 * (machine_busy - cpu) / elapsed),
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        calls=len(latencies),
    )


def _busy_seconds(times: Any) -> float:
    """CPU seconds the whole machine spent not idle (all processes, all cores)."""
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _child(cell: Cell, seconds: float, threads: int, pipe: Connection) -> None:
    pipe.send(asdict(run_cell(cell, seconds, threads)))
    pipe.close()


def run_isolated(cell: Cell, seconds: float, threads: int) -> Result:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(cell, seconds, threads, sender))
    process.start()
    sender.close()
    if not receiver.poll(seconds + 300):
        process.kill()
        raise RuntimeError(f"benchmark cell {cell} gave no result")
    result = Result(**receiver.recv())
    process.join()
    return result


def table(results: list[Result]) -> str:
    columns = ["size", "mode", "batch", "images/s", "ms/image", "p50 call ms", "p99 call ms"]
    columns += ["CPU %", "others CPU %", "peak RSS MiB"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in results:
        lines.append(
            f"| {r.size} | {r.mode} | {r.batch} | {r.images_per_s:.1f} | {r.ms_per_image:.1f} "
            f"| {r.p50_call_ms:.1f} | {r.p99_call_ms:.1f} | {r.cpu_percent:.0f} "
            f"| {r.others_cpu_percent:.0f} | {r.peak_rss_mib:.0f} |"
        )
    return "\n".join(lines)


def comparison(results: list[Result]) -> str:
    lines = []
    for size in sorted({r.size for r in results}):
        base = [r for r in results if r.size == size and r.mode == "baseline"]
        best = [r for r in results if r.size == size and r.mode == "atalaia" and r.batch > 1]
        if base and best:
            top = max(best, key=lambda r: r.images_per_s)
            ratio = top.images_per_s / base[0].images_per_s
            lines.append(
                f"{size}: batched {top.images_per_s:.1f} img/s (batch {top.batch}) vs "
                f"single-call loop {base[0].images_per_s:.1f} img/s = x{ratio:.2f}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 416, 640])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--modes", nargs="+", default=["baseline", "atalaia", "one-call"])
    parser.add_argument(
        "--one-call-batches", type=int, nargs="+", default=[1, 8], help="batches for one-call"
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per cell")
    parser.add_argument("--threads", type=int, default=usable_cores())
    parser.add_argument(
        "--rounds", type=int, default=3, help="run every cell this many times, keep the best"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    cells = []
    for size in args.sizes:
        for mode in args.modes:
            batches = {"baseline": [1], "one-call": args.one_call_batches}.get(mode, args.batches)
            for batch in batches:
                cells.append(Cell(mode, size, batch))
    best: dict[Cell, Result] = {}
    for round_number in range(1, args.rounds + 1):  # rounds interleave cells over time
        for cell in cells:
            result = run_isolated(cell, args.seconds, args.threads)
            if cell not in best or result.images_per_s > best[cell].images_per_s:
                best[cell] = result
        if not args.json:
            print(f"  round {round_number}/{args.rounds} done", flush=True)
    results = [best[cell] for cell in cells]
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(
            f"\n{args.threads} threads, {args.seconds:g} s per cell, best of {args.rounds} rounds\n"
        )
        print(table(results))
        print()
        print(comparison(results))


if __name__ == "__main__":
    main()
