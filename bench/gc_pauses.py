"""Garbage-collector pauses on the per-frame path: default settings against atalaia's tuning.

A camera process holds a large long-lived heap (modules, the model's session, configuration,
track history) and allocates small objects every frame (detections, track updates, messages).
With the default thresholds the collector walks that heap in the middle of frames. atalaia
(design note 001) freezes everything built at start-up (`gc.freeze()`), raises the young
generation's threshold, and collects at an idle moment of the loop instead
(`atalaia.supervisor.child.tune_gc` and `idle_collect`).

This runs the same synthetic frame loop both ways, in fresh subprocesses, and reports every
collection's pause (from `gc.callbacks`) and the per-frame time.

    .venv/bin/python -m bench.gc_pauses [--frames 20000] [--heap 500000] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections import deque
from typing import Any

import numpy as np


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    arr = np.asarray(values)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p99": round(float(np.percentile(arr, 99)), 3),
        "max": round(float(arr.max()), 3),
    }


def workload(mode: str, frames: int, heap: int) -> dict[str, Any]:
    """One run; `mode` is 'default' or 'tuned'. Times in milliseconds."""
    from atalaia.supervisor.child import idle_collect, tune_gc

    pauses: list[float] = []
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    # The long-lived heap: what a real process has after start-up.
    long_lived = [{"id": i, "name": f"obj{i}", "tags": [i, i + 1]} for i in range(heap)]
    if mode == "tuned":
        tune_gc()
    gc.callbacks.append(on_gc)
    tracks: dict[int, dict[str, Any]] = {}
    history: deque[tuple[int, list[float]]] = deque(maxlen=60_000)  # recent events kept
    frame_ms: list[float] = []
    in_frame_pauses: list[float] = []
    last_gc = time.monotonic()
    for n in range(frames):
        before = len(pauses)
        t0 = time.perf_counter()
        detections = [
            {"class_id": k % 80, "bbox": [k, k + 1, 10.0, 20.0], "confidence": 0.5, "meta": {}}
            for k in range(30)
        ]
        for k, det in enumerate(detections):
            track = tracks.setdefault((n // 50) * 100 + k, {"history": []})
            track["history"].append((n, det["bbox"]))
            history.append((n, det["bbox"]))
            if len(track["history"]) > 50:
                track["history"] = track["history"][-25:]
        if n % 50 == 0:
            tracks = {k: v for k, v in tracks.items() if k >= (n // 50 - 2) * 100}
        message = {"frame": n, "detections": detections, "ts": time.time()}
        del message
        frame_ms.append((time.perf_counter() - t0) * 1000)
        in_frame_pauses.extend(pauses[before:])
        if mode == "tuned":
            last_gc = idle_collect(last_gc, every=0.2)  # between frames: off the frame's clock
    gc.callbacks.remove(on_gc)
    del long_lived
    return {
        "mode": mode,
        "frames": frames,
        "collections": len(pauses),
        "gc_total_ms": round(sum(pauses), 1),
        "pause_ms": _percentiles(pauses),
        "pauses_inside_frames": len(in_frame_pauses),
        "frame_ms": _percentiles(frame_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--heap", type=int, default=500_000, help="long-lived objects")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(workload(args.child, args.frames, args.heap)))
        return 0
    results = []
    for mode in ("default", "tuned"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.gc_pauses",
                "--child",
                mode,
                "--frames",
                str(args.frames),
                "--heap",
                str(args.heap),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout))
    if args.json:
        for r in results:
            print(json.dumps(r))
        return 0
    print(f"{args.frames} frames, {args.heap} long-lived objects")
    print(
        "| gc | collections | total gc ms | pause p50 / p99 / max ms | pauses inside frames "
        "| frame p50 / p99 / max ms |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        p, f = r["pause_ms"], r["frame_ms"]
        print(
            f"| {r['mode']} | {r['collections']} | {r['gc_total_ms']} "
            f"| {p['p50']} / {p['p99']} / {p['max']} | {r['pauses_inside_frames']} "
            f"| {f['p50']} / {f['p99']} / {f['max']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
