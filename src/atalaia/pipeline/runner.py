"""Pipeline: the configured cameras and detectors as supervised processes.

It owns what must outlive any one child: each camera's frame ring (so a restarted camera, or
detector, finds it in place and a killed one leaks nothing) and the run directory holding the
detectors' sockets. Cameras can be added, changed and removed while the rest keeps running.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atalaia.cluster.fencing import Fence
from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.frames import FrameRing, new_run_id, ring_name
from atalaia.logs import detector_tag
from atalaia.pipeline.camera_worker import run_camera
from atalaia.pipeline.detector_worker import run_detector
from atalaia.pipeline.schedule import spread_phase
from atalaia.pipeline.specs import CameraSpec, DetectorSpec
from atalaia.supervisor import ChildSpec, Supervisor

log = logging.getLogger(__name__)

_RUN_DIR = re.compile(r"^atalaia-(\d+)-[0-9a-f]+$")
DEFAULT_CAPTURE_FPS = 30.0


def ring_slots(config: AtalaiaConfig, camera: CameraConfig) -> int:
    """Enough slots that a frame is not overwritten before it is too old to infer anyway."""
    if config.pipeline.ring_slots:
        return config.pipeline.ring_slots
    fps = camera.target_fps or config.target_fps or DEFAULT_CAPTURE_FPS
    return max(6, math.ceil(fps * camera.detect.max_age_ms / 1000) + 4)


def remove_stale_run_dirs(base: Path) -> None:
    """Delete run directories whose process is gone (a service killed with -9)."""
    for entry in base.glob("atalaia-*"):
        match = _RUN_DIR.match(entry.name)
        if not match or not entry.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass


class Pipeline:
    def __init__(
        self,
        config: AtalaiaConfig,
        log_queue: Any,
        on_message: Callable[[str, object], None] | None = None,
    ) -> None:
        self.config = config
        self.run_id = new_run_id()
        base = Path(tempfile.gettempdir())
        remove_stale_run_dirs(base)
        self.run_dir = base / f"atalaia-{os.getpid()}-{self.run_id}"
        self.run_dir.mkdir(mode=0o700)
        self.authkey = os.urandom(16)
        self.supervisor = Supervisor(
            config.supervisor,
            log_queue,
            log_level=config.logging.level,
            log_queue_size=config.logging.queue_size,
            on_message=on_message,
        )
        self.rings: dict[str, FrameRing] = {}
        self.cameras: dict[str, CameraConfig] = {}
        # Cluster leases the cameras run under (node, generation): their alert writes check it.
        self.leases: dict[str, tuple[str, int]] = {}
        # Each camera's detection phase, kept across its restarts and changes.
        self.phases: dict[str, float] = {}
        self._lock = threading.Lock()
        self._started = False

    # ---- names -----------------------------------------------------------------------------

    @staticmethod
    def camera_child(camera_id: str) -> str:
        return f"camera:{camera_id}"

    @staticmethod
    def detector_child(name: str) -> str:
        return f"detector:{name}"

    def detector_address(self, name: str) -> str:
        return str(self.run_dir / f"detector-{name}.sock")

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, with_cameras: bool = True) -> None:
        """Detectors first (cameras connect to them), then every enabled camera (unless the
        caller adds cameras itself, as the service's reconciler does)."""
        self.supervisor.start()
        for name, detector in self.config.detectors.items():
            self.supervisor.add(
                ChildSpec(
                    name=self.detector_child(name),
                    kind="detector",
                    tag=detector_tag(name),
                    target=run_detector,
                    payload=DetectorSpec(detector, self.detector_address(name), self.authkey),
                )
            )
        self._started = True
        for camera in self.config.cameras if with_cameras else []:
            if camera.enabled:
                self.add_camera(camera)

    def stop(self) -> None:
        """Stop every process in order, then release the rings and the run directory."""
        self.supervisor.stop()
        with self._lock:
            for ring in self.rings.values():
                ring.close()
            self.rings.clear()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self._started = False

    def _camera_spec(self, camera: CameraConfig) -> ChildSpec:
        return ChildSpec(
            name=self.camera_child(camera.id),
            kind="camera",
            tag=camera.id,
            target=run_camera,
            payload=CameraSpec(
                camera=camera,
                ring=self.rings[camera.id].name,
                data_dir=self.config.data_dir,
                target_fps=self.config.target_fps,
                detector_addresses={
                    name: self.detector_address(name) for name in camera.detect.detector_names
                },
                authkey=self.authkey,
                database_url=self.config.database_url,
                sinks=tuple(self.config.sink_name(s) for s in self.config.sinks if s.enabled),
                media=self.config.media,
                prompts=self.config.prompts,
                fence=Fence.from_setting(self.leases.get(camera.id)),
                detect_phase=self.phases.setdefault(camera.id, spread_phase(len(self.phases))),
            ),
        )

    def _new_ring(self, camera: CameraConfig) -> FrameRing:
        p = self.config.pipeline
        return FrameRing.create(
            ring_name(camera.id, self.run_id),
            camera.id,
            slots=ring_slots(self.config, camera),
            slot_bytes=p.max_frame_width * p.max_frame_height * 3,
        )

    def add_camera(self, camera: CameraConfig) -> None:
        with self._lock:
            if camera.id in self.cameras:
                raise ValueError(f"camera {camera.id} is already running")
            self.rings[camera.id] = self._new_ring(camera)
            self.cameras[camera.id] = camera
            spec = self._camera_spec(camera)
        self.supervisor.add(spec)

    def update_camera(self, camera: CameraConfig) -> None:
        """Restart one camera with a new configuration; the others are not touched."""
        with self._lock:
            old = self.cameras.get(camera.id)
        if old is None:
            self.add_camera(camera)
            return
        if old == camera:
            return
        self.remove_camera(camera.id)
        self.add_camera(camera)

    def remove_camera(self, camera_id: str, timeout: float | None = None) -> None:
        """Stop one camera; `timeout` overrides the supervisor's shutdown time (then killed)."""
        self.supervisor.remove(self.camera_child(camera_id), timeout)
        with self._lock:
            self.cameras.pop(camera_id, None)
            ring = self.rings.pop(camera_id, None)
        if ring is not None:
            ring.close()

    def ring(self, camera_id: str) -> FrameRing | None:
        with self._lock:
            return self.rings.get(camera_id)

    def status(self) -> dict[str, Any]:
        children = self.supervisor.status()
        cameras = {
            cid: children.get(self.camera_child(cid), {"state": "stopped"}) for cid in self.cameras
        }
        detectors = {
            name: children.get(self.detector_child(name), {"state": "stopped"})
            for name in self.config.detectors
        }
        return {"cameras": cameras, "detectors": detectors}
