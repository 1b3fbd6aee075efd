"""Two models per camera: what the second model costs, and whether it belongs in its own process.

Parts:
  cost     the real pipeline, same cameras and video, run twice: every camera on one model
           (`detect.detector: default`), then on two (`detect.detectors: [default, second]`,
           two detector processes). Merged frames/s, capture-to-merged-result latency,
           partial frames, CPU and memory of all processes.
  layout   the same two models on the same 4-frame batches (4 cameras' frames), for --seconds
           each: one process running both models one after the other, against two processes
           running one model each at the same time (with the default ONNX Runtime threads,
           and with one thread each). Frames/s with both answers and the p99 of the time until
           a frame has both answers.

The second model is the built-in YOLO11n again (no other real detector ships offline), at
--second-input-size, so the two differ in cost as a general model and a PPE model would.

    .venv/bin/python -m bench.two_models --part all --cameras 4 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from bench.host import cpu_model
from bench.pipeline import ProcessSampler, camera_stats, make_video, video_frames

from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector
from atalaia.logs import LogWriter
from atalaia.pipeline.runner import Pipeline
from atalaia.pipeline.stats import histogram_percentiles, merge_histograms


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"CPU {cpu_model()}, {os.cpu_count()} cores, load average {load}"


def detectors(args: argparse.Namespace) -> dict[str, OnnxDetectorConfig]:
    return {
        "default": OnnxDetectorConfig(input_size=args.input_size),
        "second": OnnxDetectorConfig(input_size=args.second_input_size),
    }


# ---- cost: the real pipeline, one model per camera against two -------------------------------


def pipeline_config(args: argparse.Namespace, video: Path, models: int, tmp: Path) -> AtalaiaConfig:
    names = ["default", "second"][:models]
    detect: dict[str, Any] = {"fps": args.detect_fps, "max_age_ms": args.max_age_ms}
    detect |= {"detectors": names} if models > 1 else {"detector": "default"}
    cameras = [
        CameraConfig.model_validate(
            {
                "id": f"cam{i}",
                "source": {"url": str(video), "loop": True, "realtime": True},
                "target_fps": 30,
                "detect": detect,
            }
        )
        for i in range(args.cameras)
    ]
    return AtalaiaConfig(
        data_dir=tmp,
        supervisor=SupervisorConfig(heartbeat_interval=0.5, heartbeat_timeout=60),
        detectors=dict(detectors(args)) if models > 1 else {"default": detectors(args)["default"]},
        cameras=cameras,
        media={"clips": False, "live": False, "snapshots": False},
    )


def run_cost(args: argparse.Namespace, video: Path, models: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = pipeline_config(args, video, models, Path(tmp))
        writer = LogWriter(level="WARNING", file=Path(tmp) / "bench.log", console=False)
        pipeline = Pipeline(config, writer.queue)
        try:
            pipeline.start()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stats = camera_stats(pipeline)
                if all(s.get("counters", {}).get("detected", 0) > 0 for s in stats.values()):
                    break
                time.sleep(0.5)
            time.sleep(args.warmup)

            def pids() -> list[int]:
                status = pipeline.supervisor.status()
                return [s["pid"] for s in status.values() if s["pid"]] + [os.getpid()]

            before = camera_stats(pipeline)
            sampler = ProcessSampler(pids)
            sampler.start()
            time.sleep(args.seconds)
            elapsed = sampler.stop()
            after = camera_stats(pipeline)
        finally:
            pipeline.stop()
            writer.stop()
    return cost_summary(models, elapsed, before, after, sampler)


def _delta(a: dict[str, Any], b: dict[str, Any], key: str) -> int:
    return int(a.get(key, 0)) - int(b.get(key, 0))


def _hist_delta(a: dict[str, Any], b: dict[str, Any]) -> dict[int, int]:
    ha, hb = a.get("latency_hist") or {}, b.get("latency_hist") or {}
    return {int(k): v - hb.get(k, 0) for k, v in ha.items() if v - hb.get(k, 0) > 0}


def cost_summary(
    models: int,
    elapsed: float,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    sampler: ProcessSampler,
) -> dict[str, Any]:
    merged, partial, dropped = 0, 0, 0
    hists: list[dict[int, int]] = []
    per_model: dict[str, list[dict[int, int]]] = {}
    for cid, a in after.items():
        b = before.get(cid, {})
        ca, cb = a.get("counters", {}), b.get("counters", {})
        merged += _delta(ca, cb, "detected")
        partial += _delta(ca, cb, "partial")
        dropped += sum(_delta(ca, cb, k) for k in ca if k.startswith("dropped_"))
        hists.append(_hist_delta(a, b))
        for name, ma in (a.get("models") or {}).items():
            mb = (b.get("models") or {}).get(name, {})
            per_model.setdefault(name, []).append(_hist_delta(ma, mb))
    return {
        "part": "cost",
        "models": models,
        "cameras": len(after),
        "seconds": round(elapsed, 1),
        "frames_per_s": round(merged / elapsed, 2),
        "partial_per_s": round(partial / elapsed, 2),
        "dropped_per_s": round(dropped / elapsed, 2),
        "latency_ms": histogram_percentiles(merge_histograms(hists)),
        "model_latency_ms": {
            name: histogram_percentiles(merge_histograms(h)) for name, h in per_model.items()
        },
        "cpu_percent": sampler.cpu_percent(elapsed),
        "rss_mb_peak": round(sampler.peak_rss_mb, 1),
        "pss_mb_peak": round(sampler.peak_pss_mb, 1),
    }


# ---- layout: one process with both models against one process per model ---------------------

LAYOUTS = ("one process", "two processes", "two processes, 1 thread each")


def _serve(
    configs: list[dict[str, Any]], batch: list[np.ndarray], seconds: float, out: Any, barrier: Any
) -> None:
    """Run the given models one after the other on `batch`, round after round, until `seconds`
    pass; send back each round's (start, end) perf_counter times. With several processes each
    round starts for all of them at once (the barrier): a frame arrives for every model, and
    the camera has to wait for the slowest."""
    models = [build_detector(OnnxDetectorConfig.model_validate(c)) for c in configs]
    for model in models:  # first calls allocate; not measured
        model.detect(batch)
    rounds: list[tuple[float, float]] = []
    out.send("ready")
    end = out.recv() + seconds
    while True:
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            break
        t0 = time.perf_counter()
        if t0 >= end:
            barrier.abort()
            break
        for model in models:
            model.detect(batch)
        rounds.append((t0, time.perf_counter()))
    out.send(rounds)
    for model in models:
        model.close()


def run_layout(args: argparse.Namespace, video: Path, layout: str) -> dict[str, Any]:
    frames = video_frames(video, limit=args.cameras)
    configs = [c.model_dump(mode="json") for c in detectors(args).values()]
    if layout == "two processes, 1 thread each":
        # Each process sized for its share of the machine instead of every core.
        one = {"concurrent_runs": 1, "intra_op_threads": 1, "latency_session": False}
        configs = [{**c, **one} for c in configs]
    groups = [configs] if layout == "one process" else [[c] for c in configs]
    ctx = get_context("spawn")
    pipes, procs = [], []
    barrier = ctx.Barrier(len(groups))
    for group in groups:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(group, frames, args.seconds, child, barrier))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    start_at = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in every process
    cpu_before = psutil.cpu_times()
    for pipe in pipes:
        pipe.send(start_at)
    results: list[list[tuple[float, float]]] = [pipe.recv() for pipe in pipes]
    cpu_after = psutil.cpu_times()
    for proc in procs:
        proc.join()
    elapsed = max(r[-1][1] for r in results if r) - start_at
    busy = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    # A round's frames have both answers when the slower model is done with them.
    done = min(len(r) for r in results)
    both = [max(r[i][1] for r in results) - min(r[i][0] for r in results) for i in range(done)]
    waits = np.array(both) * 1000
    return {
        "part": "layout",
        "layout": layout,
        "cameras": len(frames),
        "seconds": args.seconds,
        "frames_per_s": round(done * len(frames) / elapsed, 2),
        "latency_ms": {f"p{p}": round(float(np.percentile(waits, p)), 1) for p in (50, 99)},
        "cpu_percent_machine": round(100 * busy / elapsed, 1),
    }


# ---- output ---------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    cost = [r for r in results if r["part"] == "cost"]
    if cost:
        lines += [
            "| models per camera | cameras | merged frames/s | partial/s | dropped/s | "
            "latency p50 / p99 ms | per model p99 ms | CPU % | peak RSS / PSS MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in cost:
            lat = r["latency_ms"]
            per = ", ".join(f"{k} {v.get('p99', '-')}" for k, v in r["model_latency_ms"].items())
            lines.append(
                f"| {r['models']} | {r['cameras']} | {r['frames_per_s']} | {r['partial_per_s']} | "
                f"{r['dropped_per_s']} | {lat.get('p50', '-')} / {lat.get('p99', '-')} | {per} | "
                f"{r['cpu_percent']} | {r['rss_mb_peak']} / {r['pss_mb_peak']} |"
            )
    layout = [r for r in results if r["part"] == "layout"]
    if layout:
        lines += [
            "",
            "| layout | frames per batch | frames/s with both answers | p50 / p99 ms | "
            "machine CPU % |",
            "|---|---|---|---|---|",
        ]
        for r in layout:
            lat = r["latency_ms"]
            lines.append(
                f"| {r['layout']} | {r['cameras']} | {r['frames_per_s']} | "
                f"{lat['p50']} / {lat['p99']} | {r['cpu_percent_machine']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["cost", "layout", "all"], default="all")
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--second-input-size", type=int, default=416)
    parser.add_argument("--detect-fps", type=float, default=2.0)
    parser.add_argument("--max-age-ms", type=float, default=1000.0)
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    video = args.video or make_video(Path(tempfile.mkdtemp(prefix="atalaia-bench-")))
    print(machine(), flush=True)
    print(
        f"models: YOLO11n at {args.input_size} and at {args.second_input_size}; "
        f"{args.cameras} cameras at {args.detect_fps} detections/s each",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    if args.part in ("cost", "all"):
        results += [run_cost(args, video, 1), run_cost(args, video, 2)]
    if args.part in ("layout", "all"):
        for layout in LAYOUTS:
            results.append(run_layout(args, video, layout))
    print(json.dumps(results, indent=1) if args.json else table(results), flush=True)
    print(machine(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
