"""The multi-camera pipeline under load, against the user's note-000 design, in one run.

Modes:
  nominal     N cameras from a file paced in real time (default 8 x 640x480 at 30 fps),
              detection 5 fps each: fps, drops by cause, capture-to-result latency, CPU, RSS.
  saturation  detection asked on every frame: pipeline detections/s against a plain loop
              running the same detector on the same frames in one process (the ratio), and
              against the physical limit measured around it on the same clip (bench.limit):
                limit detections/s = model rate x (1 - decode share)
              model rate: YOLO11n alone (the mean of a measure right before the run and
              one right after it), batched, at --input-size on the input the
              detector used (--input-shape: fitted to the clip's frames, or square), the
              better of one single-threaded session per core (batch 4 each) and one session
              on every core (batch 8); decode share = decode CPU-s per frame (the
              pipeline's reader, one core) x frames/s the cameras captured in the run /
              usable cores.
  overload    three times what the machine can detect, for --seconds (default 300): RSS over
              time, latency p99, drops.
  baseline    nominal and saturation through frames pickled into a multiprocessing.Queue for a
              ProcessPoolExecutor (design note 000), for comparison.

    .venv/bin/python -m bench.pipeline --mode nominal --cameras 8 --seconds 30
    .venv/bin/python -m bench.pipeline --mode saturation --cameras 8 --input-size 320 \
        --video /usr/share/doc/opencv-doc/examples/data/vtest.avi
    .venv/bin/python -m bench.pipeline --mode saturation --cameras 8 --input-size 320 \
        --video vtest.avi --replay-fps 30    # the 10 fps clip as 30 fps cameras (bench.replay)
    .venv/bin/python -m bench.pipeline --mode all --json
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import psutil
from bench.limit import describe, machine, measure_limit, model_alone_before
from bench.replay import add_replay_argument, retimed

from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.demo import demo_frames, write_video
from atalaia.detect import build_detector
from atalaia.logs import LogWriter
from atalaia.pipeline.runner import Pipeline
from atalaia.pipeline.stats import LatencyHistogram, histogram_percentiles, merge_histograms

DROP_CAUSES = ("stale", "overload", "no_detector", "error")


# ---- inputs -------------------------------------------------------------------------------


def make_video(directory: Path, fps: int = 30, seconds: float = 10.0) -> Path:
    """A 640x480 H.264 clip at `fps` made offline from the demo photo (people, bicycles, dog)."""
    path = directory / f"bench_{fps}fps.mp4"
    if not path.exists():
        write_video(path, demo_frames(seconds, fps), fps)
    return path


def video_frames(path: Path, limit: int = 300) -> list[Any]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def add_run_arguments(parser: argparse.ArgumentParser, *, detect_fps: bool = True) -> None:
    """The settings of a pipeline run that every pipeline benchmark takes (`run_atalaia`);
    `detect_fps` False for one that only runs saturation (detection on every frame)."""
    add_input_shape_argument(parser)
    add_replay_argument(parser)
    parser.add_argument("--batch-max", type=int, default=8)
    parser.add_argument("--batch-timeout-ms", type=float, default=5.0)
    parser.add_argument("--max-age-ms", type=float, default=500.0)
    if detect_fps:
        parser.add_argument("--detect-fps", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--media",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="per-camera clip history and live frame (on by default, as in the service)",
    )


def add_input_shape_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        choices=["fit", "square"],
        default="fit",
        help="the detector's input_shape (default fit, as the service is configured by default)",
    )


def detector_config(args: argparse.Namespace) -> OnnxDetectorConfig:
    return OnnxDetectorConfig(
        input_size=args.input_size,
        input_shape=args.input_shape,
        batch_max=args.batch_max,
        batch_timeout_ms=args.batch_timeout_ms,
    )


# ---- measuring processes ------------------------------------------------------------------


PSS_EVERY_S = 5.0


class ProcessSampler:
    """CPU time and peak RSS of a set of processes, sampled on a thread."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 1.0) -> None:
        self._pids = pids
        self.interval = interval
        self.rss_series: list[tuple[float, float]] = []
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._cpu_start: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def _sample(self, with_pss: bool = True) -> None:
        total = pss = 0.0
        for pid in self._pids():
            try:
                proc = psutil.Process(pid)
                times = proc.cpu_times()
                # PSS walks every mapping of the process (smaps_rollup): sampled every
                # second for ten processes it cost the harness ~10 % of a core, CPU taken
                # from the pipeline it measures. RSS is cheap; PSS only every PSS_EVERY s.
                memory = proc.memory_full_info() if with_pss else proc.memory_info()
                total += memory.rss
                pss += getattr(memory, "pss", 0.0)
            except psutil.Error:
                continue
            cpu = times.user + times.system
            self._cpu_start.setdefault(pid, cpu)
            self._cpu_last[pid] = cpu
        mb = total / 2**20
        self.peak_rss_mb = max(self.peak_rss_mb, mb)
        if with_pss:
            self.peak_pss_mb = max(self.peak_pss_mb, pss / 2**20)
        self.rss_series.append((round(time.monotonic() - self._t0, 1), round(mb, 1)))

    def _run(self) -> None:
        last_pss = time.monotonic()
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            with_pss = now - last_pss >= PSS_EVERY_S
            if with_pss:
                last_pss = now
            self._sample(with_pss)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._sample()
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return time.monotonic() - self._t0

    def cpu_percent(self, elapsed: float) -> float:
        used = sum(self._cpu_last[p] - self._cpu_start[p] for p in self._cpu_last)
        return round(100 * used / elapsed, 1)


# ---- atalaia ------------------------------------------------------------------------------


def atalaia_config(
    args: argparse.Namespace, video: Path, cameras: int, detect_fps: float, tmp: Path
) -> AtalaiaConfig:
    cams = [
        CameraConfig.model_validate(
            {
                "id": f"cam{i}",
                "source": {"url": str(video), "loop": True, "realtime": True},
                "target_fps": 30,
                "detect": {"fps": detect_fps, "max_age_ms": args.max_age_ms},
            }
        )
        for i in range(cameras)
    ]
    return AtalaiaConfig(
        data_dir=tmp,
        # The service's own heartbeat interval (5 s): each heartbeat costs a camera a stats
        # snapshot and the supervisor its unpickling, and at 0.5 s the runs measured that
        # cost ten times over. Rates are taken between the snapshots' own times instead
        # (`camera_stats`), so stale-by-a-heartbeat counters do not skew them.
        supervisor=SupervisorConfig(heartbeat_timeout=60),
        detectors={"default": detector_config(args)},
        cameras=cams,
        media={"clips": args.media, "live": args.media, "snapshots": args.media},
    )


def stats_dict(status: dict[str, Any]) -> dict[str, Any]:
    """A child's stats as plain JSON, whether it publishes a dict or a typed snapshot."""
    stats = status.get("stats") or {}
    as_json = getattr(stats, "as_json", None)
    return dict(as_json() if callable(as_json) else stats)


SNAPSHOT_AT = "_snapshot_at"  # added to a camera's stats: monotonic time it was taken


def camera_stats(p: Pipeline) -> dict[str, dict[str, Any]]:
    """Each camera's last heartbeat stats, with the monotonic time they were sent."""
    now = time.monotonic()
    out = {}
    for cid, status in p.status()["cameras"].items():
        stats = stats_dict(status)
        age = status.get("last_heartbeat_age_s")
        stats[SNAPSHOT_AT] = now - age if age is not None else now
        out[cid] = stats
    return out


def run_atalaia(
    args: argparse.Namespace,
    mode: str,
    video: Path,
    cameras: int,
    detect_fps: float,
    seconds: float,
    probe: Callable[[Pipeline, float], Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """`probe(pipeline, seconds)`, when given, starts at the measured window and returns what
    ends it (bench.cpu_profile attaches py-spy there)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = atalaia_config(args, video, cameras, detect_fps, Path(tmp))
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
                return [s["pid"] for s in status.values() if s["pid"]] + [psutil.Process().pid]

            before = camera_stats(pipeline)
            sampler = ProcessSampler(pids, interval=5.0 if seconds > 60 else 1.0)
            sampler.start()
            finish = probe(pipeline, seconds) if probe is not None else None
            time.sleep(seconds)
            if finish is not None:
                finish()
            elapsed = sampler.stop()
            after = camera_stats(pipeline)
            detector_stats = stats_dict(pipeline.status()["detectors"]["default"])
        finally:
            pipeline.stop()
            writer.stop()
    return summarize(mode, "atalaia", cameras, elapsed, before, after, sampler, detector_stats)


def summarize(
    mode: str,
    design: str,
    cameras: int,
    elapsed: float,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    sampler: ProcessSampler,
    detector_stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    fps_captured, fps_detected, drops = {}, {}, dict.fromkeys(DROP_CAUSES, 0)
    hists = []
    for cid, a in after.items():
        b = before.get(cid, {})
        ca, cb = a.get("counters", {}), b.get("counters", {})
        # Between the two snapshots' own times (heartbeats), not the sampler's window.
        span = a.get(SNAPSHOT_AT, 0.0) - b.get(SNAPSHOT_AT, 0.0)
        span = span if span > 0.5 * elapsed else elapsed
        fps_captured[cid] = round((ca.get("captured", 0) - cb.get("captured", 0)) / span, 2)
        fps_detected[cid] = round((ca.get("detected", 0) - cb.get("detected", 0)) / span, 2)
        for cause in DROP_CAUSES:
            key = f"dropped_{cause}"
            drops[cause] += ca.get(key, 0) - cb.get(key, 0)
        ha, hb = a.get("latency_hist", {}), b.get("latency_hist", {})
        hists.append({k: v - hb.get(k, 0) for k, v in ha.items() if v - hb.get(k, 0) > 0})
    latency = histogram_percentiles(merge_histograms(hists))
    result: dict[str, Any] = {
        "mode": mode,
        "design": design,
        "cameras": cameras,
        "seconds": round(elapsed, 1),
        "fps_captured": fps_captured,
        "fps_detected": fps_detected,
        "detections_per_s": round(sum(fps_detected.values()), 2),
        "drops": drops,
        "latency_ms": latency,
        "cpu_percent": sampler.cpu_percent(elapsed),
        "rss_mb_peak": round(sampler.peak_rss_mb, 1),
        "pss_mb_peak": round(sampler.peak_pss_mb, 1),
    }
    if detector_stats:
        result["mean_batch"] = detector_stats.get("mean_batch")
        result["model_call_ms"] = detector_stats.get("infer_ms")  # recent calls, percentiles
    if mode == "overload":
        result["rss_mb_series"] = sampler.rss_series
        settled = [mb for t, mb in sampler.rss_series if t >= 30] or [
            mb for _, mb in sampler.rss_series
        ]
        result["rss_growth_pct_after_30s"] = round(
            100 * (max(settled) - min(settled)) / min(settled), 1
        )
    return result


# ---- the plain loop -----------------------------------------------------------------------


def plain_loop(args: argparse.Namespace, video: Path, seconds: float) -> float:
    """The same detector on the same frames, one at a time, in this process: detections/s."""
    frames = video_frames(video)
    detector = build_detector(detector_config(args))
    detector.detect(frames[:1])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        detector.detect([frames[done % len(frames)]])
        done += 1
    rate = done / (time.perf_counter() - start)
    detector.close()
    return round(rate, 2)


# ---- the note-000 baseline ----------------------------------------------------------------


_WORKER: dict[str, Any] = {}


def _baseline_init(config: dict[str, Any], frames_q: Any, results_q: Any) -> None:
    """Pool initializer: queues can only reach pool workers when the worker is created."""
    _WORKER.update(config=config, frames_q=frames_q, results_q=results_q)


def _baseline_worker() -> None:
    """A pool worker of design note 000: its own copy of the model, frames arriving pickled."""
    detector = build_detector(OnnxDetectorConfig.model_validate(_WORKER["config"]))
    frames_q, results_q = _WORKER["frames_q"], _WORKER["results_q"]
    while True:
        item = frames_q.get()
        if item is None:
            return
        cam, ts, frame = item
        detections = detector.detect([frame])[0]
        results_q.put((cam, ts, len(detections)))


def run_baseline(
    args: argparse.Namespace,
    mode: str,
    video: Path,
    cameras: int,
    detect_fps: float,
    seconds: float,
) -> dict[str, Any]:
    ctx = get_context("spawn")
    frames_q = ctx.Queue(maxsize=30)  # design note 000: "1 segundo de buffer em 30fps"
    results_q = ctx.Queue()
    workers = psutil.cpu_count() or 2
    config = detector_config(args).model_dump(mode="json")
    config["intra_op_threads"] = 1  # one model per worker process, as the note has it
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_baseline_init,
        initargs=(config, frames_q, results_q),
    )
    futures = [pool.submit(_baseline_worker) for _ in range(workers)]
    counters = {
        f"cam{i}": {"captured": 0, "detected": 0, "dropped_overload": 0} for i in range(cameras)
    }
    hist = {cid: LatencyHistogram() for cid in counters}
    lock = threading.Lock()
    stop = threading.Event()

    def produce(cid: str) -> None:
        cap = cv2.VideoCapture(str(video))
        period, next_due, t = 1 / 30, 0.0, time.monotonic()
        while not stop.is_set():
            ok, frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            t += period
            time.sleep(max(0.0, t - time.monotonic()))
            counters[cid]["captured"] += 1
            now = time.monotonic()
            if now >= next_due:
                next_due = max(next_due + 1 / detect_fps, now)
                if frames_q.full():
                    counters[cid]["dropped_overload"] += 1
                else:
                    frames_q.put((cid, time.time(), frame))

    def collect() -> None:
        while not stop.is_set():
            try:
                cid, ts, _n = results_q.get(timeout=0.2)
            except queue.Empty:
                continue
            with lock:
                counters[cid]["detected"] += 1
                hist[cid].add((time.time() - ts) * 1000)

    threads = [threading.Thread(target=produce, args=(c,), daemon=True) for c in counters]
    threads.append(threading.Thread(target=collect, daemon=True))
    for t in threads:
        t.start()

    def snapshot() -> dict[str, dict[str, Any]]:
        with lock:
            return {
                c: {"counters": dict(v), "latency_hist": hist[c].snapshot()}
                for c, v in counters.items()
            }

    def pids() -> list[int]:
        return [psutil.Process().pid] + [p.pid for p in psutil.Process().children(recursive=True)]

    time.sleep(args.warmup + 5)  # the workers load their models
    before = snapshot()
    sampler = ProcessSampler(pids)
    sampler.start()
    time.sleep(seconds)
    elapsed = sampler.stop()
    after = snapshot()
    stop.set()
    for t in threads:
        t.join(5)
    while True:  # make room for the stop markers
        try:
            frames_q.get_nowait()
        except queue.Empty:
            break
    for _ in range(workers):
        frames_q.put(None)
    for f in futures:
        f.result(timeout=30)
    pool.shutdown()
    return summarize(mode, "note-000 baseline", cameras, elapsed, before, after, sampler)


# ---- report -------------------------------------------------------------------------------


def row(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    caps = list(r["fps_captured"].values()) or [0]
    dets = list(r["fps_detected"].values()) or [0]
    drops = ", ".join(f"{k} {v}" for k, v in r["drops"].items() if v) or "none"
    extra = f" ratio {r['ratio']}" if "ratio" in r else ""
    return (
        f"| {r['mode']} | {r['design']} | {r['cameras']} | {min(caps):.1f}-{max(caps):.1f} | "
        f"{min(dets):.2f}-{max(dets):.2f} | {r['detections_per_s']}{extra} | "
        f"{lat.get('p50', '-')} / {lat.get('p95', '-')} / {lat.get('p99', '-')} | {drops} | "
        f"{r['cpu_percent']} | {r['rss_mb_peak']} / {r['pss_mb_peak']} |"
    )


HEADER = (
    "| mode | design | cameras | captured fps/cam | detected fps/cam | detections/s | "
    "latency p50/p95/p99 ms | drops | CPU % | peak RSS / PSS MB |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--mode",
        choices=["nominal", "saturation", "overload", "baseline", "all"],
        default="nominal",
    )
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=None, help="measured time (overload: 300)")
    parser.add_argument(
        "--video",
        type=Path,
        default=None,
        help="any video; default a generated 640x480 30 fps clip",
    )
    parser.add_argument("--input-size", type=int, default=640)
    add_run_arguments(parser)
    parser.add_argument(
        "--limit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="saturation: also measure the model alone and the decode cost (the limit)",
    )
    parser.add_argument(
        "--plain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="saturation: also run the plain single-process loop (the ratio)",
    )
    parser.add_argument(
        "--limit-seconds", type=float, default=5.0, help="measured time per model-alone plan"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per mode")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="atalaia-bench-"))
    video = args.video or make_video(workdir)
    if args.replay_fps:
        video = retimed(video, args.replay_fps, workdir)
    results: list[dict[str, Any]] = []
    notes: list[str] = []  # printed under the table

    def emit(result: dict[str, Any]) -> None:
        results.append(result)
        print(json.dumps(result) if args.json else row(result), flush=True)
        calls = result.get("model_call_ms")
        if calls and not args.json:
            shown = " / ".join(f"{calls[k]:g}" for k in ("p50", "p95", "p99") if k in calls)
            notes.append(
                f"{result['mode']}: model calls (detector process, recent) p50/p95/p99 ms "
                f"{shown}, mean frames per call {result.get('mean_batch')}"
            )

    if not args.json:
        print(
            f"{machine()}\nvideo {video}, input {args.input_size}, batch_max {args.batch_max}"
            f"\n{HEADER}",
            flush=True,
        )
    modes = ["nominal", "saturation", "baseline"] if args.mode == "all" else [args.mode]
    seconds = args.seconds or 30.0
    for mode in modes:
        if mode == "nominal":
            emit(run_atalaia(args, "nominal", video, args.cameras, args.detect_fps, seconds))
        elif mode == "saturation":
            fit = args.input_shape == "fit"
            before = (
                model_alone_before(video, args.input_size, args.limit_seconds, fit)
                if args.limit
                else None
            )
            result = run_atalaia(args, "saturation", video, args.cameras, 30.0, seconds)
            if args.plain:
                result["plain_loop_detections_per_s"] = plain_loop(args, video, min(seconds, 20))
                result["ratio"] = round(
                    result["detections_per_s"] / result["plain_loop_detections_per_s"], 3
                )
            if args.limit:
                captured = sum(result["fps_captured"].values())
                limit = measure_limit(
                    video,
                    args.input_size,
                    captured,
                    result["detections_per_s"],
                    args.limit_seconds,
                    fit=fit,
                    before=before,
                )
                result["limit"] = limit
                notes += describe(limit, result["detections_per_s"])
            emit(result)
        elif mode == "overload":
            capacity = plain_loop(args, video, 10)
            per_camera = min(30.0, 3 * capacity / args.cameras)
            result = run_atalaia(
                args, "overload", video, args.cameras, per_camera, args.seconds or 300.0
            )
            result["demand_per_s"] = round(per_camera * args.cameras, 1)
            result["plain_loop_detections_per_s"] = capacity
            emit(result)
        elif mode == "baseline":
            emit(run_baseline(args, "nominal", video, args.cameras, args.detect_fps, seconds))
            base = run_baseline(args, "saturation", video, args.cameras, 30.0, seconds)
            base["plain_loop_detections_per_s"] = plain_loop(args, video, min(seconds, 20))
            base["ratio"] = round(base["detections_per_s"] / base["plain_loop_detections_per_s"], 3)
            emit(base)
    if notes and not args.json:
        print("\n" + "\n".join(notes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
