"""CameraMonitor: is each enabled camera reachable, checked apart from its capture process.

A capture process knows when its stream breaks, but not why, and it is restarted and backs off
on its own schedule; this monitor answers the operator's simpler question ("does the camera's
host answer at all?") every `interval` seconds. Checks run on `max_workers` daemon threads, so
one host that never answers costs its own timeout and nothing else; a camera whose previous
check is still running is skipped for that round instead of queueing more checks behind it.
`stop()` waits for running checks, so it takes up to `timeout` seconds.

`on_change(camera_id, reachable, reason)` is called on transitions only, the first result of a
camera included (unknown -> reachable or not); it runs on a pool thread and must not block.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from atalaia.config.cameras import CameraConfig
from atalaia.config.monitors import CameraMonitorConfig
from atalaia.monitors.base import MonitorState, ThreadedMonitor, Worker
from atalaia.monitors.camera_probe import ProbeKind, ProbeResult, ProbeTarget, probe, probe_target
from atalaia.redact import mask_secrets, mask_url

log = logging.getLogger(__name__)

ChangeCallback = Callable[[str, bool, str], None]


@dataclass(frozen=True, slots=True)
class CameraReachability:
    """What is known about one camera. `reachable` is None until its first check, and stays
    None for sources that cannot be checked (`kind: unchecked`). Times are `time.time()`."""

    camera_id: str
    url: str
    target: str
    kind: ProbeKind
    reachable: bool | None = None
    latency_ms: float | None = None
    reason: str | None = None
    checked_at: float | None = None
    changed_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    checks: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class CameraMonitorSnapshot:
    state: MonitorState
    interval: float
    timeout: float
    cameras: dict[str, CameraReachability]

    @property
    def reachable(self) -> int:
        return sum(1 for c in self.cameras.values() if c.reachable)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reachable"] = self.reachable
        data["total"] = len(self.cameras)
        return data


@dataclass(frozen=True, slots=True)
class _Watched:
    """A camera as the monitor checks it: the target and the secrets to keep out of text."""

    camera_id: str
    url: str
    target: ProbeTarget
    secrets: tuple[str, ...]


def _watched(camera: CameraConfig, data_dir: Path) -> _Watched:
    try:
        password = urlsplit(camera.source.url).password
    except ValueError:
        password = None
    return _Watched(
        camera_id=camera.id,
        url=mask_url(camera.source.url),
        target=probe_target(camera, data_dir),
        secrets=(password,) if password else (),
    )


class CameraMonitor(ThreadedMonitor):
    """Checks every enabled camera each `config.interval` seconds; see the module docstring."""

    name = "camera"

    def __init__(
        self,
        config: CameraMonitorConfig,
        cameras: Iterable[CameraConfig] = (),
        data_dir: Path = Path("data"),
        on_change: ChangeCallback | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.data_dir = data_dir
        self.on_change = on_change
        self._lock = threading.Lock()
        self._watched: dict[str, _Watched] = {}
        self._states: dict[str, CameraReachability] = {}
        self._in_flight: set[str] = set()
        self._jobs: queue.Queue[_Watched | None] = queue.Queue()
        self.set_cameras(cameras)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def set_cameras(self, cameras: Iterable[CameraConfig]) -> None:
        """Watch these cameras from now on (disabled ones are left out).

        A camera whose source is unchanged keeps its state; a new or changed one starts
        unknown, and a running monitor checks it at once rather than at the next round.
        """
        watched = {c.id: _watched(c, self.data_dir) for c in cameras if c.enabled}
        with self._lock:
            self._watched = watched
            kept: dict[str, CameraReachability] = {}
            for cam_id, w in watched.items():
                old = self._states.get(cam_id)
                if old is not None and old.url == w.url and old.target == w.target.label:
                    kept[cam_id] = old
                else:
                    kept[cam_id] = CameraReachability(cam_id, w.url, w.target.label, w.target.kind)
            self._states = kept
        self._nudge()

    def _before_start(self) -> None:
        # A fresh queue per run: sentinels left by the previous stop must not end this one.
        self._jobs = queue.Queue()
        with self._lock:
            self._in_flight.clear()

    def _on_stop_requested(self) -> None:
        for _ in range(self.config.max_workers):
            self._jobs.put(None)

    def _workers(self) -> list[tuple[str, Worker]]:
        checkers: list[tuple[str, Worker]] = [
            (f"check{i}", functools.partial(self._check_worker, self._jobs))
            for i in range(self.config.max_workers)
        ]
        return [("scheduler", self._run), *checkers]

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.check_all()
            if self._pause(stop, self.config.interval):
                return

    def _check_worker(self, jobs: queue.Queue[_Watched | None], stop: threading.Event) -> None:
        while True:
            job = jobs.get()
            if job is None or stop.is_set():
                return
            self._check(job)

    def check_all(self) -> int:
        """Queue a check of every watched camera that has none running; returns how many.

        The checks run on the monitor's workers, so this only has an effect while it runs.
        """
        with self._lock:
            due = [
                w
                for w in self._watched.values()
                if w.target.kind != "unchecked" and w.camera_id not in self._in_flight
            ]
            self._in_flight.update(w.camera_id for w in due)
        for w in due:
            self._jobs.put(w)
        return len(due)

    def _check(self, watched: _Watched) -> None:
        try:
            result = probe(watched.target, self.config.timeout)
        except Exception as exc:  # an unexpected failure is a failed check, not a dead pool
            result = ProbeResult(False, None, f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._in_flight.discard(watched.camera_id)
        if result is not None:
            self._record(watched, result)

    def _record(self, watched: _Watched, result: ProbeResult) -> None:
        now = time.time()
        reason = mask_secrets(result.reason, watched.secrets)
        with self._lock:
            old = self._states.get(watched.camera_id)
            if old is None or self._watched.get(watched.camera_id) != watched:
                return  # removed or changed while the check ran: its result is stale
            changed = old.reachable != result.reachable
            new = replace(
                old,
                reachable=result.reachable,
                latency_ms=result.latency_ms,
                reason=reason,
                checked_at=now,
                changed_at=now if changed else old.changed_at,
                checks=old.checks + 1,
                failures=old.failures + (0 if result.reachable else 1),
            )
            if not result.reachable:
                new = replace(new, last_error=reason, last_error_at=now)
            self._states[watched.camera_id] = new
        if changed:
            log.info(
                "camera %s %s (%s: %s)",
                watched.camera_id,
                "reachable" if result.reachable else "unreachable",
                watched.target.label,
                reason,
            )
            if self.on_change is not None:
                try:
                    self.on_change(watched.camera_id, result.reachable, reason)
                except Exception:
                    log.exception("camera monitor: on_change callback failed")

    def snapshot(self) -> CameraMonitorSnapshot:
        with self._lock:
            cameras = dict(self._states)
        return CameraMonitorSnapshot(
            state=self.state,
            interval=self.config.interval,
            timeout=self.config.timeout,
            cameras=cameras,
        )
