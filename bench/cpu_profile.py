"""Where the CPU goes, per process kind, while the real pipeline runs (issue 14, point 1).

Runs `bench.pipeline`'s pipeline (nominal or saturation) and samples it over the measured
window with one of two tools:

- `perf` (default): `perf record -a` samples every CPU at a fixed rate, so a sample is CPU time
  actually spent, charged to the process and the library it ran in: the codec (libavcodec),
  swscale, OpenCV (colour conversion, resizes, letterbox, drawing), ONNX Runtime, libjpeg,
  numpy, the Python interpreter itself (tracking, rules, IPC, stats: everything written in
  Python), libc (memcpy into and out of the rings, malloc) and the kernel (syscalls, wake-ups,
  page faults). Needs root or `kernel.perf_event_paranoid` <= 0.
- `py-spy`: Python stacks of every process (`--subprocesses --nonblocking`), each put in one
  bucket by its innermost frame that names a known part. Finer for Python code, but on this
  machine it counts threads blocked inside C calls (a socket read, a demuxer) as running, so
  its totals exceed the CPU used: read it for proportions inside a process, not for CPU.

Processes are named by their kind from the supervisor's status (camera, detector) or are the
harness (the main process: supervisor, log writer, sampler). Figures are % of one core.

    .venv/bin/python -m bench.cpu_profile --mode nominal --cameras 8 --input-size 320 \
        --video /usr/share/doc/opencv-doc/examples/data/vtest.avi
    .venv/bin/python -m bench.cpu_profile --mode saturation --tool py-spy ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.limit import machine
from bench.pipeline import add_run_arguments, make_video, run_atalaia
from bench.replay import retimed

from atalaia.pipeline.runner import Pipeline

# (bucket, what a frame "function (file:line)" contains), tried from the innermost frame
# outwards: the first frame that names a bucket decides the sample. Inside one frame, the
# first bucket listed wins.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("model (ONNX Runtime run)", ("onnxruntime_inference_collection",)),
    ("colour conversion", ("to_ndarray", "cvtColor", "reformat")),
    ("letterbox", ("letterbox.py",)),
    ("model output decode + NMS", ("/decode.py", "nms.py")),
    ("video decode (demux + codec)", ("pyav_source.py", "opencv_source.py", "capture/")),
    ("ring (shared memory copies)", ("frames/ring.py",)),
    ("frame fit / motion gate", ("fit_frame", "schedule.py")),
    (
        "IPC (pickle, sockets, wake-ups)",
        (
            "multiprocessing/connection.py",
            "detector_messages.py",
            "detector_link.py",
            "batcher.py",
            "frame_join.py",
        ),
    ),
    ("tracking", ("atalaia/track/",)),
    ("rules, zones, analytics", ("atalaia/rules/", "camera_analytics.py", "atalaia/geometry/")),
    ("overlay drawing", ("overlay.py",)),
    ("JPEG encode (live, history)", ("media/jpeg.py",)),
    ("clip encode", ("clip_encoder.py",)),
    (
        "heartbeat, stats",
        ("supervisor/child.py", "snapshots.py", "pipeline/stats.py", "model_stats.py"),
    ),
    ("logging", ("logging/", "atalaia/logs/")),
    ("supervisor", ("atalaia/supervisor/",)),
    ("bench harness", ("bench/", "psutil")),
    ("detections (numpy wrappers)", ("detections.py",)),
]
OTHER = "other"


def bucket_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return OTHER


def parse_raw(path: Path) -> dict[int, dict[str, int]]:
    """py-spy's raw output: `process PID:"cmd";frame;frame;... COUNT` per line."""
    samples: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.startswith("process "):
            continue
        frames = stack.split(";")
        # The stack starts with the process chain, root first: the last one sampled it.
        chain = [i for i, frame in enumerate(frames) if frame.startswith("process ")]
        pid = int(frames[chain[-1]].split()[1].split(":")[0])
        samples[pid][bucket_of(frames[chain[-1] + 1 :])] += int(count)
    return samples


# Libraries, by the start of their file name, and the part of the work they do.
LIBRARIES: list[tuple[str, tuple[str, ...]]] = [
    ("model (ONNX Runtime)", ("libonnxruntime", "onnxruntime_pybind11")),
    ("video decode (libavcodec)", ("libavcodec",)),
    ("demux (libavformat)", ("libavformat",)),
    ("colour conversion (swscale)", ("libswscale",)),
    ("FFmpeg utilities (libavutil)", ("libavutil",)),
    ("OpenCV (colour, resize, letterbox, drawing)", ("cv2", "libopencv")),
    ("JPEG (libjpeg)", ("libjpeg", "libturbojpeg")),
    ("numpy", ("_multiarray", "libopenblas", "libscipy_openblas", "_umath")),
    ("Python interpreter (tracking, rules, IPC, stats)", ("libpython", "python3")),
    ("libc (memcpy: ring copies; malloc)", ("libc.so", "libc-")),
    ("kernel (syscalls, wake-ups, page faults)", ("[kernel",)),
]


def library_of(dso: str) -> str:
    for name, prefixes in LIBRARIES:
        if dso.startswith(prefixes):
            return name
    return OTHER


def parse_perf(report: str, cores: int) -> dict[int, dict[str, float]]:
    """`perf report --sort pid,dso` lines `  12.34%  PID:comm  dso`: % of one core each."""
    usage: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in report.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith("%") or ":" not in parts[1]:
            continue
        pid = int(parts[1].split(":")[0])
        usage[pid][library_of(" ".join(parts[2:]))] += float(parts[0][:-1]) * cores
    return usage


def profile(
    args: argparse.Namespace, video: Path, out: Path
) -> tuple[dict[str, Any], dict[int, str], dict[int, dict[str, float]]]:
    kinds: dict[int, str] = {}
    data = out / ("perf.data" if args.tool == "perf" else "pyspy.txt")

    def probe(pipeline: Pipeline, seconds: float) -> Callable[[], None]:
        for status in pipeline.supervisor.status().values():
            if status["pid"]:
                kinds[status["pid"]] = status["kind"]
        kinds[os.getpid()] = "harness"
        if args.tool == "perf":
            command = ["perf", "record", "-a", "-F", str(args.rate), "-o", str(data),
                       "--", "sleep", str(seconds)]  # fmt: skip
        else:
            command = [args.py_spy, "record", "--pid", str(os.getpid()), "--subprocesses",
                       "--nonblocking", "--format", "raw", "--rate", str(args.rate),
                       "--duration", str(int(seconds)), "--output", str(data)]  # fmt: skip
        sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def finish() -> None:
            # perf charges a sample to a thread: every thread of a process is of its kind.
            for pid, kind in list(kinds.items()):
                with contextlib.suppress(OSError):
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        kinds[int(tid)] = kind
            _, err = sampler.communicate(timeout=seconds + 60)
            if sampler.returncode != 0:
                raise SystemExit(f"{command[0]} failed: {err.decode(errors='replace')[-500:]}")

        return finish

    detect_fps = args.detect_fps if args.mode == "nominal" else 30.0
    result = run_atalaia(args, args.mode, video, args.cameras, detect_fps, args.seconds, probe)
    if args.tool == "perf":
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--sort", "pid,dso", "--stdio",
             "--percent-limit", "0.01"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return result, kinds, parse_perf(report, os.cpu_count() or 1)
    scale = 100 / args.rate / args.seconds
    samples = {pid: {n: c * scale for n, c in b.items()} for pid, b in parse_raw(data).items()}
    return result, kinds, samples


def table(usage: dict[int, dict[str, float]], kinds: dict[int, str]) -> tuple[list[str], Any]:
    """% of one core per process kind (columns) and part (rows); other processes left out."""
    per_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for pid, parts in usage.items():
        kind = kinds.get(pid)
        if kind is None:
            continue  # not the pipeline's (the database, py-spy, the idle task)
        for name, value in parts.items():
            per_kind[kind][name] += value
    kinds_order = sorted(per_kind, key=lambda k: -sum(per_kind[k].values()))
    names = sorted({n for b in per_kind.values() for n in b},
                   key=lambda n: -sum(per_kind[k].get(n, 0) for k in per_kind))  # fmt: skip
    width = max((len(n) for n in names), default=10) + 2
    head = "".join(f"{k:>12}" for k in kinds_order)
    lines = ["% of one core".ljust(width) + head + f"{'all':>9}"]
    for name in names:
        cells = [per_kind[k].get(name, 0.0) for k in kinds_order]
        row = "".join(f"{c:12.1f}" for c in cells)
        lines.append(name.ljust(width) + row + f"{sum(cells):9.1f}")
    totals = [sum(per_kind[k].values()) for k in kinds_order]
    lines.append("total".ljust(width) + "".join(f"{t:12.1f}" for t in totals)
                 + f"{sum(totals):9.1f}")  # fmt: skip
    return lines, {k: dict(v) for k, v in per_kind.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["nominal", "saturation"], default="nominal")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--input-size", type=int, default=320)
    add_run_arguments(parser)
    parser.add_argument("--tool", choices=["perf", "py-spy"], default="perf")
    parser.add_argument("--rate", type=int, default=199, help="samples per second")
    parser.add_argument("--py-spy", default=shutil.which("py-spy")
                        or str(Path(sys.executable).parent / "py-spy"))  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.tool == "py-spy" and not Path(args.py_spy).exists():
        print("py-spy is missing: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    if args.tool == "perf" and shutil.which("perf") is None:
        print("perf is missing: apt-get install linux-perf", file=sys.stderr)
        return 2

    out = Path(tempfile.mkdtemp(prefix="atalaia-cpu-"))
    video = args.video or make_video(out)
    if args.replay_fps:
        video = retimed(video, args.replay_fps, out)
    result, kinds, usage = profile(args, video, out)
    lines, per_kind = table(usage, kinds)
    if args.json:
        print(json.dumps({"result": result, "cpu": per_kind, "cpu_model": machine()}))
        return 0
    print(machine())
    print(
        f"{args.mode}, {args.tool}: {args.cameras} cameras, {video.name}, input "
        f"{args.input_size}: {result['detections_per_s']} detections/s, p99 "
        f"{result['latency_ms'].get('p99')} ms, processes' CPU {result['cpu_percent']} % of one "
        "core (/proc)"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
