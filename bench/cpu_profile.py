"""Where the CPU goes, per process kind, while the real pipeline runs (issue 14, point 1).

Runs `bench.pipeline`'s pipeline (nominal or saturation) and, over the measured window,
samples every process of it with py-spy (`--subprocesses --nonblocking`: the processes are
never paused). Each sampled stack is put in one bucket by its innermost frame that names a
known part (the ONNX Runtime call, letterbox, video decode, ring copies, IPC, tracking,
drawing, JPEG, ...), and each process is named by its kind from the supervisor's status
(camera, detector) or is the harness (the main process: supervisor, log writer, sampler).

A sample is 1/rate s of one thread found running (py-spy leaves out threads waiting in the
kernel), so bucket seconds / window seconds is a share of one core; the table also prints the
processes' CPU from /proc over the same window, to show how much of it the samples account for.

    .venv/bin/pip install py-spy     # once (dev extra)
    .venv/bin/python -m bench.cpu_profile --mode nominal --cameras 8 --input-size 320 \\
        --video /usr/share/doc/opencv-doc/examples/data/vtest.avi
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.limit import machine
from bench.pipeline import make_video, run_atalaia

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


def profile(
    args: argparse.Namespace, video: Path, out: Path
) -> tuple[dict[str, Any], dict[int, str], Path]:
    kinds: dict[int, str] = {}
    raw = out / "pyspy.txt"

    def probe(pipeline: Pipeline, seconds: float) -> Callable[[], None]:
        for status in pipeline.supervisor.status().values():
            if status["pid"]:
                kinds[status["pid"]] = status["kind"]
        import os

        kinds[os.getpid()] = "harness"
        spy = subprocess.Popen(
            [args.py_spy, "record", "--pid", str(os.getpid()), "--subprocesses",
             "--nonblocking", "--format", "raw", "--rate", str(args.rate),
             "--duration", str(int(seconds)), "--output", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip

        def finish() -> None:
            _, err = spy.communicate(timeout=seconds + 60)
            if spy.returncode != 0:
                raise SystemExit(f"py-spy failed: {err.decode(errors='replace')[-500:]}")

        return finish

    detect_fps = args.detect_fps if args.mode == "nominal" else 30.0
    result = run_atalaia(args, args.mode, video, args.cameras, detect_fps, args.seconds, probe)
    return result, kinds, raw


def table(
    samples: dict[int, dict[str, int]], kinds: dict[int, str], rate: float, seconds: float
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Core-seconds per second (x100: % of one core) per process kind and bucket."""
    per_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for pid, buckets in samples.items():
        kind = kinds.get(pid, "other process")
        for name, count in buckets.items():
            per_kind[kind][name] += 100 * count / rate / seconds
    kinds_order = sorted(per_kind, key=lambda k: -sum(per_kind[k].values()))
    names = sorted({n for b in per_kind.values() for n in b},
                   key=lambda n: -sum(per_kind[k].get(n, 0) for k in per_kind))  # fmt: skip
    width = max(len(n) for n in names) + 2
    head = "".join(f"{k:>12}" for k in kinds_order)
    lines = ["% of one core".ljust(width) + head + f"{'all':>9}"]
    for name in names:
        cells = [per_kind[k].get(name, 0.0) for k in kinds_order]
        row = "".join(f"{c:12.1f}" for c in cells)
        lines.append(name.ljust(width) + row + f"{sum(cells):9.1f}")
    totals = [sum(per_kind[k].values()) for k in kinds_order]
    lines.append("sampled total".ljust(width) + "".join(f"{t:12.1f}" for t in totals)
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
    parser.add_argument("--batch-max", type=int, default=8)
    parser.add_argument("--batch-timeout-ms", type=float, default=5.0)
    parser.add_argument("--max-age-ms", type=float, default=500.0)
    parser.add_argument("--detect-fps", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--media", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--py-spy", default=shutil.which("py-spy")
                        or str(Path(sys.executable).parent / "py-spy"))  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not Path(args.py_spy).exists():
        print("py-spy is missing: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2

    out = Path(tempfile.mkdtemp(prefix="atalaia-cpu-"))
    video = args.video or make_video(out)
    result, kinds, raw = profile(args, video, out)
    samples = parse_raw(raw)
    lines, per_kind = table(samples, kinds, args.rate, args.seconds)
    if args.json:
        print(json.dumps({"result": result, "cpu": per_kind, "cpu_model": machine()}))
        return 0
    print(machine())
    print(
        f"{args.mode}: {args.cameras} cameras, {video.name}, input {args.input_size}: "
        f"{result['detections_per_s']} detections/s, p99 {result['latency_ms'].get('p99')} ms, "
        f"processes' CPU {result['cpu_percent']} % of one core (/proc)"
    )
    print("\n".join(lines))
    print(f"\nraw stacks: {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
