"""Tracker, rules and media cost per camera: atalaia's ByteTracker against a naive tracker.

Synthetic scenes with known ground truth: N people walk across a 1920x1080 frame at their own
speeds, turning now and then; the "detector" jitters their boxes by a few pixels, misses each
one 5 % of the time, and reports some with low scores (partly hidden). Detection runs at 5 per
second. Each tracker sees the same frames in the same run:

- **naive**: the baseline many projects start with: last box per track, greedy IoU matching
  (best pair first, IoU >= 0.3), no motion model, a track dropped after 3 s unseen.
- **byte-greedy**: atalaia's ByteTracker with the greedy matcher instead of the optimal one.
- **atalaia**: `ByteTracker` as shipped (Kalman prediction in seconds, two-stage association,
  Jonker-Volgenant assignment via `lap`).

Reported per tracker: update time per frame (p50/p99, ms), updates/s (1 / mean time), and id
switches (a ground-truth person whose track id changes; fewer is better). Then the rules and
alerts cost per frame: `RuleEngine.step` with five rules (object in zone, loitering, count,
line crossing, PPE) on the atalaia tracks. With `--media`, the media thread's costs on real
frames (the demo video): one clip-history JPEG, one live frame (overlay + JPEG), one 10 s clip.

    .venv/bin/python -m bench.tracker                  # 10 and 50 objects, 1500 frames each
    .venv/bin/python -m bench.tracker --objects 50 --frames 500 --media --json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from atalaia.config.cameras import CameraConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import Detections
from atalaia.rules import FrameSize, RuleEngine
from atalaia.track import ByteTracker, box_iou_matrix, greedy_assignment

WIDTH, HEIGHT = 1920, 1080
FPS = 5.0
CLASSES = ("person", "helmet", "vest")


# ---- the scene ---------------------------------------------------------------------------


@dataclass
class Scene:
    frames: list[Detections]
    truth: list[list[int]]  # per frame: the ground-truth person of each detection row


def make_scene(objects: int, frames: int, seed: int = 7) -> Scene:
    rng = np.random.default_rng(seed)
    pos = rng.uniform([100, 300], [WIDTH - 100, HEIGHT - 100], size=(objects, 2))
    speed = rng.uniform(20, 120, size=objects)  # px/s
    heading = rng.uniform(0, 2 * np.pi, size=objects)
    size = np.stack([rng.uniform(40, 90, objects), rng.uniform(110, 220, objects)], axis=1)
    out: list[Detections] = []
    truth: list[list[int]] = []
    for _ in range(frames):
        heading += rng.normal(0, 0.15, objects)  # people turn a little
        step = np.stack([np.cos(heading), np.sin(heading)], axis=1) * speed[:, None] / FPS
        pos += step
        bounce = (pos < [50, 150]) | (pos > [WIDTH - 50, HEIGHT - 20])
        heading[bounce.any(axis=1)] += np.pi
        pos = np.clip(pos, [50, 150], [WIDTH - 50, HEIGHT - 20])
        seen = rng.random(objects) > 0.05
        idx = np.flatnonzero(seen)
        jitter = rng.normal(0, 2.0, size=(len(idx), 4))
        x1y1 = pos[idx] - size[idx] * [0.5, 1.0]
        boxes = np.hstack([x1y1, x1y1 + size[idx]]) + jitter
        scores = np.where(rng.random(len(idx)) < 0.15, rng.uniform(0.2, 0.5, len(idx)),
                          rng.uniform(0.6, 0.95, len(idx)))  # fmt: skip
        # Equipment on some people, for the PPE rule.
        helmets = idx[: len(idx) // 2]
        hx = pos[helmets, 0]
        hy = pos[helmets, 1] - size[helmets, 1]
        helmet_boxes = np.stack([hx - 12, hy - 4, hx + 12, hy + 20], axis=1)
        all_boxes = np.vstack([boxes, helmet_boxes]).astype(np.float32)
        all_scores = np.concatenate([scores, np.full(len(helmets), 0.8)]).astype(np.float32)
        classes = np.concatenate([np.zeros(len(idx)), np.ones(len(helmets))]).astype(np.int32)
        out.append(Detections(all_boxes, all_scores, classes, CLASSES))
        truth.append([*idx.tolist(), *([-1] * len(helmets))])
    return Scene(out, truth)


# ---- the baseline ------------------------------------------------------------------------


class NaiveTracker:
    """Last box per track, greedy IoU >= 0.3, new id for anything unmatched."""

    def __init__(self, max_age_s: float = 3.0) -> None:
        self.boxes = np.zeros((0, 4))
        self.ids: list[int] = []
        self.last_seen: list[float] = []
        self.next_id = 1
        self.max_age_s = max_age_s

    def update(self, detections: Detections, ts: float) -> dict[int, int]:
        boxes = detections.xyxy.astype(np.float64)
        cost = 1.0 - box_iou_matrix(self.boxes, boxes)
        m = greedy_assignment(cost, 0.7)
        matched: dict[int, int] = {}
        for r, c in m.pairs.tolist():
            self.boxes[r] = boxes[c]
            self.last_seen[r] = ts
            matched[self.ids[r]] = c
        new = m.unmatched_cols.tolist()
        if new:
            self.boxes = np.vstack([self.boxes, boxes[new]])
            for c in new:
                self.ids.append(self.next_id)
                self.last_seen.append(ts)
                matched[self.next_id] = c
                self.next_id += 1
        keep = [i for i, t in enumerate(self.last_seen) if ts - t <= self.max_age_s]
        self.boxes = self.boxes[keep]
        self.ids = [self.ids[i] for i in keep]
        self.last_seen = [self.last_seen[i] for i in keep]
        return matched


# ---- measuring ---------------------------------------------------------------------------


def stats_ms(times: list[float]) -> dict[str, float]:
    arr = np.asarray(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 3),
        "p99_ms": round(float(np.percentile(arr, 99)), 3),
        "updates_per_s": round(1000.0 / float(arr.mean()), 1),
    }


def id_switches(assigned: list[dict[int, int]], truth: list[list[int]]) -> int:
    """How often a ground-truth person's track id changes between frames it was tracked in."""
    last: dict[int, int] = {}
    switches = 0
    for matched, rows in zip(assigned, truth, strict=True):
        for track_id, row in matched.items():
            person = rows[row]
            if person < 0:
                continue
            if person in last and last[person] != track_id:
                switches += 1
            last[person] = track_id
    return switches


def run_tracker(name: str, update: Callable[[Detections, float], dict[int, int]],
                scene: Scene) -> dict[str, Any]:  # fmt: skip
    times: list[float] = []
    assigned: list[dict[int, int]] = []
    for i, dets in enumerate(scene.frames):
        t0 = time.perf_counter()
        matched = update(dets, i / FPS)
        times.append(time.perf_counter() - t0)
        assigned.append(matched)
    return {
        "tracker": name,
        **stats_ms(times[10:]),
        "id_switches": id_switches(assigned, scene.truth),
    }


def rules_camera() -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "bench",
            "source": "demo://people",
            "zones": [
                {"name": "dock", "points": [[0.05, 0.3], [0.5, 0.3], [0.5, 0.95], [0.05, 0.95]]},
                {"name": "press", "points": [[0.5, 0.2], [0.95, 0.2], [0.8, 0.9], [0.6, 0.6]]},
            ],
            "rules": [
                {"type": "object_in_zone", "zone": "dock"},
                {"type": "loitering", "zone": "press", "seconds": 20},
                {"type": "count_above", "zone": "dock", "count": 5},
                {"type": "line_crossing", "line": [[0.2, 0.6], [0.8, 0.6]], "direction": "in"},
                {"type": "ppe_missing", "required": ["helmet"], "frames": 5, "zone": "press"},
            ],
        }
    )


def run_rules(scene: Scene) -> dict[str, Any]:
    camera = rules_camera()
    tracker = ByteTracker(camera.track)
    engine = RuleEngine(camera, CLASSES, FrameSize(WIDTH, HEIGHT))
    assert not engine.problems, engine.problems
    times: list[float] = []
    events = 0
    for i, dets in enumerate(scene.frames):
        update = tracker.update(dets, i / FPS)
        t0 = time.perf_counter()
        events += len(engine.step(update, dets))
        times.append(time.perf_counter() - t0)
    return {"stage": "rules + alerts (5 rules, 2 zones)", **stats_ms(times[10:]), "events": events}


def run_media(seconds: float = 10.0) -> dict[str, Any]:
    from atalaia.demo import demo_frames
    from atalaia.media import ClipRecorder, LiveFrameWriter, OverlayState
    from atalaia.media.clip_encoder import encode_clip
    from atalaia.media.history import EncodedFrame
    from atalaia.media.jpeg import encode_jpeg, scale_to_width
    from atalaia.track import Track

    config = MediaConfig()
    frames = demo_frames(seconds=4, fps=5)
    tracks = tuple(
        Track(i, 0, "person", (40 + 60 * i, 100, 90 + 60 * i, 300), (5, 0, 0, 0), 0.9, 0.9,
              "tracked", 0, 0, 0, 3)
        for i in range(8)
    )  # fmt: skip
    result: dict[str, Any] = {}
    for label, (w, h) in {"640x480": (640, 480), "1280x720": (1280, 720)}.items():
        import cv2

        imgs = [cv2.resize(f, (w, h)) for f in frames]
        t_hist: list[float] = []
        jpegs = []
        for k in range(3):
            for img in imgs:
                t0 = time.perf_counter()
                data = encode_jpeg(scale_to_width(img, config.clip_max_width), config.clip_quality)
                t_hist.append(time.perf_counter() - t0)
                if k == 0:
                    jpegs.append(data)
        with tempfile.TemporaryDirectory() as tmp:
            live = LiveFrameWriter(Path(tmp) / "live.jpg", config.live_quality)
            t_live: list[float] = []
            for img in imgs * 2:
                t0 = time.perf_counter()
                live.write(img, OverlayState(tracks=tracks), 0.0)
                t_live.append(time.perf_counter() - t0)
            n = int(seconds * config.clip_fps)
            clip_frames = [
                EncodedFrame(i / config.clip_fps, jpegs[i % len(jpegs)]) for i in range(n)
            ]
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            encode_clip(clip_frames, Path(tmp) / "c.mp4", config.clip_fps, config.clip_crf)
            clip_s = time.perf_counter() - t0
            clip_cpu = time.process_time() - cpu0
        hist_ms = float(np.mean(t_hist)) * 1000
        live_ms = float(np.mean(t_live)) * 1000
        per_camera = (hist_ms * config.clip_fps + live_ms * config.live_fps) / 10  # % of a core
        result[label] = {
            "history_jpeg_ms": round(hist_ms, 2),
            "history_kb_per_frame": round(float(np.mean([len(j) for j in jpegs])) / 1024, 1),
            "live_frame_ms": round(live_ms, 2),
            "steady_cpu_percent": round(per_camera, 2),
            "clip_10s_wall_ms": round(clip_s * 1000, 1),
            "clip_10s_cpu_ms": round(clip_cpu * 1000, 1),
        }
    _ = ClipRecorder  # the recorder runs exactly these steps on its threads
    return result


def others_cpu(machine0: Any, self0: Any, wall0: float) -> float:
    """CPU % used by every other process during the run: the check that the machine was quiet."""
    machine, me = psutil.cpu_times(), psutil.Process().cpu_times()
    busy = (machine.user + machine.system) - (machine0.user + machine0.system)
    mine = (me.user + me.system) - (self0.user + self0.system)
    return round(100 * max(0.0, busy - mine) / (time.monotonic() - wall0), 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--objects", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--media", action="store_true", help="also measure the media thread")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    machine0, self0, wall0 = psutil.cpu_times(), psutil.Process().cpu_times(), time.monotonic()
    rows: list[dict[str, Any]] = []
    for n in args.objects:
        scene = make_scene(n, args.frames)
        naive = NaiveTracker()
        greedy = ByteTracker(assign=greedy_assignment)
        byte = ByteTracker()

        def tracked(tracker: ByteTracker) -> Callable[[Detections, float], dict[int, int]]:
            return lambda d, ts: tracker.update(d, ts).matched

        for name, update in (("naive", naive.update), ("byte-greedy", tracked(greedy)),
                             ("atalaia", tracked(byte))):  # fmt: skip
            rows.append({"objects": n, **run_tracker(name, update, scene)})
        rows.append({"objects": n, **run_rules(scene)})
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "frames": args.frames,
        "rows": rows,
    }
    if args.media:
        report["media"] = run_media()
    report["others_cpu_percent"] = others_cpu(machine0, self0, wall0)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| objects | stage | p50 ms | p99 ms | updates/s | id switches / events |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        name = r.get("tracker") or r["stage"]
        last = r.get("id_switches", r.get("events"))
        print(f"| {r['objects']} | {name} | {r['p50_ms']} | {r['p99_ms']} | "
              f"{r['updates_per_s']:,} | {last} |")  # fmt: skip
    print(
        f"\nother processes used {report['others_cpu_percent']} % CPU meanwhile (200 % = 2 cores)"
    )
    if args.media:
        print()
        print("| frame | history JPEG ms | KB/frame | live frame ms | steady CPU % | "
              "10 s clip wall ms | clip CPU ms |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for label, m in report["media"].items():
            print(f"| {label} | {m['history_jpeg_ms']} | {m['history_kb_per_frame']} | "
                  f"{m['live_frame_ms']} | {m['steady_cpu_percent']} | {m['clip_10s_wall_ms']} | "
                  f"{m['clip_10s_cpu_ms']} |")  # fmt: skip


if __name__ == "__main__":
    main()
