"""Camera and detector process -> supervisor: the stats each heartbeat carries.

A camera process reports a `CameraSnapshot`, a detector process a `DetectorSnapshot`: frozen
values taken on the child's heartbeat thread, pickled with the heartbeat (once per interval,
not per frame), kept by the supervisor as they came and handed to readers under
`status()[child]["stats"]` (an empty dict until the first heartbeat of the current process).
Readers in the main process (metrics, health, the cameras API) take them with
`camera_snapshot` / `detector_snapshot` and read attributes; what leaves over HTTP is turned
into JSON by `jsonable`, in the shapes `/api/stats` has always had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: a detector process need not import capture or tracking
    from atalaia.capture.status import CameraStatus
    from atalaia.pipeline.alert_stats import RecorderSnapshot
    from atalaia.pipeline.detector_messages import DropCause
    from atalaia.track import Track


class Snapshot:
    """A stats value that crosses from a child process; `as_json` is its HTTP shape."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class FrameCounts(Snapshot):
    """Where every frame a camera captured went (counts since the process started)."""

    captured: int = 0
    sent: int = 0
    detected: int = 0
    skipped_schedule: int = 0
    skipped_motion: int = 0
    partial: int = 0  # frames some model did not answer: analysed on what the others saw
    # Frames converted to BGR into the ring (used for detection or the media sampler); the
    # others were decoded only. A conversion that failed loses its frame (unconvertible).
    converted: int = 0
    unconvertible: int = 0
    dropped_stale: int = 0
    dropped_overload: int = 0
    dropped_no_detector: int = 0
    dropped_error: int = 0


@dataclass(frozen=True, slots=True)
class LastResult(Snapshot):
    """The camera's latest merged frame: detections per model, and the models that missed it
    with their drop causes."""

    seq: int
    ts: float
    detections: Mapping[str, int]
    missing: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "detections": dict(self.detections),
            "missing": dict(self.missing),
        }


@dataclass(frozen=True, slots=True)
class ModelSnapshot(Snapshot):
    """One of a camera's models, as the camera sees it (see `ModelStats`)."""

    connected: bool
    sent: int
    detected: int
    dropped_stale: int
    dropped_overload: int
    dropped_no_detector: int
    dropped_error: int
    latency_ms: Mapping[str, float]  # capture-to-answer percentiles of recent results
    latency_hist: Mapping[int, int]  # 1 ms buckets since start (mergeable across cameras)


@dataclass(frozen=True, slots=True)
class AnalyticsSnapshot(Snapshot):
    """Tracking, rules and alert writing of a detecting camera (see `CameraAnalytics`).

    `recorder` and `clips` are the alert recorder's and the clip recorder's own stats (None
    where the camera has no such thread)."""

    tracks: int
    track_table: tuple[Track, ...]  # the first tracks by id (a bounded list)
    alerts_active: int
    alert_events: Mapping[str, int]  # alert events by type ("new", "update", "end")
    held_frames: int
    rules: int
    problems: tuple[str, ...]
    recorder: RecorderSnapshot | None
    clips: Mapping[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "tracks": self.tracks,
            "track_table": [t.to_dict() for t in self.track_table],
            "alerts_active": self.alerts_active,
            "alert_events": dict(self.alert_events),
            "held_frames": self.held_frames,
            "rules": self.rules,
            "problems": list(self.problems),
            "recorder": None if self.recorder is None else asdict(self.recorder),
            "clips": None if self.clips is None else dict(self.clips),
        }


@dataclass(frozen=True, slots=True)
class CameraSnapshot(Snapshot):
    """A camera process's heartbeat stats."""

    camera: str
    counters: FrameCounts
    fps_captured: float
    fps_detected: float
    latency_ms: Mapping[str, float]  # capture to merged result, percentiles of recent frames
    latency_hist: Mapping[int, int]
    detector_connected: bool  # every model's detector connected
    models: Mapping[str, ModelSnapshot]
    reader: CameraStatus
    ring: str
    analytics: AnalyticsSnapshot | None  # None: the camera does not detect
    last_result: LastResult | None

    def as_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "counters": self.counters.as_json(),
            "fps_captured": self.fps_captured,
            "fps_detected": self.fps_detected,
            "latency_ms": dict(self.latency_ms),
            "latency_hist": dict(self.latency_hist),
            "detector_connected": self.detector_connected,
            "models": {name: m.as_json() for name, m in self.models.items()},
            "reader": self.reader.as_dict(),
            "ring": self.ring,
            "analytics": None if self.analytics is None else self.analytics.as_json(),
            "last_result": None if self.last_result is None else self.last_result.as_json(),
        }


@dataclass(frozen=True, slots=True)
class DetectorSnapshot(Snapshot):
    """A detector process's heartbeat stats (counts since it started)."""

    requests: int
    frames: int
    batches: int
    mean_batch: float
    batch_sizes: Mapping[int, int]  # model calls by batch size
    infer_ms: Mapping[str, float]  # model call time, percentiles of recent calls
    drops: Mapping[str, int]  # by cause
    errors: int
    connections: int
    pending: int

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "frames": self.frames,
            "batches": self.batches,
            "mean_batch": self.mean_batch,
            "batch_sizes": dict(self.batch_sizes),
            "infer_ms": dict(self.infer_ms),
            "drops": dict(self.drops),
            "errors": self.errors,
            "connections": self.connections,
            "pending": self.pending,
        }


def drops_by_cause(counts: FrameCounts | ModelSnapshot) -> dict[DropCause, int]:
    """The four drop counters of a camera or one of its models, by cause."""
    return {
        "stale": counts.dropped_stale,
        "overload": counts.dropped_overload,
        "no_detector": counts.dropped_no_detector,
        "error": counts.dropped_error,
    }


def camera_snapshot(state: Mapping[str, Any] | None) -> CameraSnapshot | None:
    """The stats of a camera's status entry; None before its first heartbeat (or when its
    stats function failed and the heartbeat carried the error instead)."""
    stats = state.get("stats") if state is not None else None
    return stats if isinstance(stats, CameraSnapshot) else None


def detector_snapshot(state: Mapping[str, Any] | None) -> DetectorSnapshot | None:
    """The stats of a detector's status entry; None as for `camera_snapshot`."""
    stats = state.get("stats") if state is not None else None
    return stats if isinstance(stats, DetectorSnapshot) else None


def jsonable(value: object) -> Any:
    """`value` with every snapshot inside it (in dicts, lists, tuples) as its JSON shape."""
    if isinstance(value, Snapshot):
        return value.as_json()
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
