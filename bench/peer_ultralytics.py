"""The peer a user would pick instead: ultralytics' multi-stream tracking on the same clip.

N streams of the same clip, each in its own thread with its own `YOLO(onnx, task="detect")`
model and its own ByteTrack tracker, every frame through ultralytics' documented tracking loop:

    results = model.track(frame, persist=True, tracker="bytetrack.yaml", imgsz=N, verbose=False)

with the frames read by `cv2.VideoCapture`, as ultralytics' own video loader does. The model is
the ONNX file atalaia ships (YOLO11n, `atalaia.detect.builtin`), at the same input size.

  paced      each stream is a camera at the clip's frame rate: frames become available at
             their due times; a stream that falls behind decodes the frames it missed and
             tracks only the newest (as a live reader keeps only the latest frame), and
             those skipped frames are counted as drops. Latency: from a frame's due time
             (when the camera had it) to its tracking result.
  saturation every stream reads its next frame as soon as the last one is tracked (unpaced).
             Latency: from the frame's read to its tracking result.

Reported: detections/s (frames inferred and tracked per second, all streams), CPU % of the
process (`resource.getrusage`, every thread: decoding, inference, NMS and tracking; 100 % = one
core), detections per CPU-second, latency p50/p95/p99, mean boxes per frame.

ultralytics is AGPL-3.0: it is never a dependency of atalaia and never imported by it nor by the
other bench modules. This script installs it on first use in its own virtual environment,
`.bench-venvs/ultralytics/` (torch/torchvision come from this machine's disk; about 5.5 GB),
and re-executes itself there with `--child`; the parent side only uses the standard library
and atalaia (to find the model file).

    .venv/bin/python -m bench.peer_ultralytics --video CLIP --streams 8 --input-size 320
    .venv/bin/python -m bench.peer_ultralytics --setup-only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venvs" / "ultralytics"
# torch/torchvision: the only pair this machine holds on its own disk (any other pair downloads
# gigabytes; PyPI's torchvision does not import beside the CPU-only torch 2.13.0). onnx: the
# ONNX backend of ultralytics checks for it. lap: ByteTrack's assignment; installed here so
# ultralytics never tries to pip-install it at run time. onnxruntime is pinned at run time to
# the version atalaia runs, so both sides use the same inference engine.
REQUIREMENTS = (
    "torch==2.14.1",
    "torchvision==0.29.1",
    "ultralytics-opencv-headless==8.4.190",
    "onnx>=1.16,<2",
    "lap>=0.5.12",
)
MARKER = ".atalaia-requirements"


# ---- parent side: the repository's interpreter ---------------------------------------------


def requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        runtime = f"onnxruntime=={version('onnxruntime')}"
    except PackageNotFoundError:
        runtime = "onnxruntime"
    return [*REQUIREMENTS, runtime]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """The venv's python, creating the venv and installing the requirements when needed."""
    wanted = "\n".join(requirements())
    marker = VENV / MARKER
    if venv_python().exists() and marker.exists() and marker.read_text() == wanted:
        return venv_python()
    print(f"installing ultralytics into {VENV} (first use; several minutes)", file=sys.stderr)
    if not venv_python().exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", *requirements()],
        check=True,
        stdout=sys.stderr,
    )
    marker.write_text(wanted)
    return venv_python()


def builtin_onnx() -> Path:
    """The YOLO11n ONNX file atalaia ships and detects with by default."""
    from atalaia.detect.builtin import default_object_model

    return default_object_model().model


def run_peer(
    video: Path,
    streams: int,
    seconds: float,
    input_size: int,
    paced: bool,
    warmup: float = 5.0,
    model: Path | None = None,
) -> dict[str, Any]:
    """Run the peer in its venv and return its figures (a JSON object, see `_child_main`)."""
    python = ensure_venv()
    spec = {
        "video": str(video),
        "streams": streams,
        "seconds": seconds,
        "input_size": input_size,
        "paced": paced,
        "warmup": warmup,
        "model": str(model or builtin_onnx()),
    }
    env = dict(os.environ)
    env.setdefault("YOLO_CONFIG_DIR", str(VENV / "config"))
    env["YOLO_OFFLINE"] = "1"  # no update checks, no downloads
    completed = subprocess.run(
        # -I: not the script's folder (bench/) on sys.path, nor PYTHON* variables or user site
        [str(python), "-I", str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(VENV),  # not the repository: the child never imports atalaia or bench
        timeout=seconds + warmup + 600,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def row(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return (
        f"| ultralytics {r['ultralytics']} ({r['mode']}) | {r['streams']} | "
        f"{r['detections_per_s']} | {r['cpu_percent']} | {r['detections_per_cpu_s']} | "
        f"{lat.get('p50', '-')} / {lat.get('p95', '-')} / {lat.get('p99', '-')} | "
        f"{r['dropped']} | {r['mean_boxes']} |"
    )


HEADER = (
    "| design | streams | detections/s | CPU % | detections per CPU-s | "
    "latency p50/p95/p99 ms | dropped | boxes/frame |\n|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--setup-only", action="store_true", help="create the venv and exit")
    parser.add_argument("--video", type=Path, help="the clip (any video file)")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument(
        "--mode", choices=["paced", "saturation", "both"], default="paced", help="see above"
    )
    parser.add_argument("--model", type=Path, default=None, help="default: atalaia's YOLO11n")
    parser.add_argument("--json", action="store_true", help="one JSON object per mode")
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child_main(json.loads(args.child))), flush=True)
        return 0
    if args.setup_only:
        print(ensure_venv())
        return 0
    if args.video is None:
        parser.error("--video is required")
    if not args.json:
        print(f"video {args.video}, input {args.input_size}\n{HEADER}", flush=True)
    modes = ["paced", "saturation"] if args.mode == "both" else [args.mode]
    for mode in modes:
        result = run_peer(
            args.video,
            args.streams,
            args.seconds,
            args.input_size,
            mode == "paced",
            args.warmup,
            args.model,
        )
        print(json.dumps(result) if args.json else row(result), flush=True)
    return 0


# ---- child side: runs inside the ultralytics venv -------------------------------------------


class Stream(threading.Thread):
    """One camera: its own model and tracker, reading the clip and tracking every frame."""

    def __init__(self, index: int, spec: dict[str, Any], stop: threading.Event) -> None:
        super().__init__(name=f"stream{index}", daemon=True)
        self.spec = spec
        self.stop = stop
        self.ready = threading.Event()
        self.error: BaseException | None = None
        # (result time, latency s, boxes) per tracked frame; (time) per dropped frame
        self.done: list[tuple[float, float, int]] = []
        self.drops: list[float] = []

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc
            self.ready.set()

    def _run(self) -> None:
        import cv2
        from ultralytics import YOLO

        spec = self.spec
        model = YOLO(spec["model"], task="detect")
        cap = cv2.VideoCapture(spec["video"])
        period = 1.0 / (cap.get(cv2.CAP_PROP_FPS) or 25.0)

        def read() -> Any:
            nonlocal cap
            ok, frame = cap.read()
            if not ok:  # loop the clip, as atalaia's file sources do
                cap.release()
                cap = cv2.VideoCapture(spec["video"])
                ok, frame = cap.read()
                if not ok:
                    raise RuntimeError(f"cannot read {spec['video']}")
            return frame

        def track(frame: Any) -> int:
            results: Any = model.track(
                frame,
                persist=True,
                tracker="bytetrack.yaml",
                imgsz=spec["input_size"],
                verbose=False,
            )
            return len(results[0].boxes)

        track(read())  # model load, session creation and the first call
        self.ready.set()
        due = time.monotonic()
        while not self.stop.is_set():
            if spec["paced"]:
                due += period
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                while due + period <= time.monotonic():  # frames that arrived meanwhile
                    if not cap.grab():
                        read()
                    self.drops.append(due)
                    due += period
                frame, since = read(), due
            else:
                frame = read()
                since = time.monotonic()
            boxes = track(frame)
            finished = time.monotonic()
            self.done.append((finished, finished - since, boxes))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _child_main(spec: dict[str, Any]) -> dict[str, Any]:
    import onnxruntime
    import torch
    import ultralytics

    stop = threading.Event()
    streams = [Stream(i, spec, stop) for i in range(spec["streams"])]
    for stream in streams:
        stream.start()
    for stream in streams:
        stream.ready.wait()
        if stream.error is not None:
            raise stream.error
    time.sleep(spec["warmup"])
    usage0, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    time.sleep(spec["seconds"])
    usage1, end = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    stop.set()
    for stream in streams:
        stream.join(60)
        if stream.error is not None:
            raise stream.error
    elapsed = end - start
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    window = [
        [d for d in stream.done if start <= d[0] < end] for stream in streams
    ]  # results that came out during the measured window
    tracked = [d for per_stream in window for d in per_stream]
    latencies = [1000 * d[1] for d in tracked]
    rate = len(tracked) / elapsed
    return {
        "design": "ultralytics",
        "mode": "paced" if spec["paced"] else "saturation",
        "streams": spec["streams"],
        "input_size": spec["input_size"],
        "seconds": round(elapsed, 1),
        "detections_per_s": round(rate, 2),
        "fps_detected": [round(len(w) / elapsed, 2) for w in window],
        "dropped": sum(1 for s in streams for t in s.drops if start <= t < end),
        "cpu_percent": round(100 * cpu / elapsed, 1),
        "detections_per_cpu_s": round(len(tracked) / cpu, 2) if cpu else None,
        "latency_ms": {
            f"p{int(q * 100)}": round(_percentile(latencies, q), 1) for q in (0.5, 0.95, 0.99)
        }
        if latencies
        else {},
        "mean_boxes": round(sum(d[2] for d in tracked) / len(tracked), 1) if tracked else 0,
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "cores": len(os.sched_getaffinity(0)),
    }


if __name__ == "__main__":
    sys.exit(main())
