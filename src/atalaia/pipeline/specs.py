"""What a camera or detector process is started with (its `ChildSpec.payload`).

Built by `Pipeline` in the main process and pickled into the child once, at spawn; the worker
checks the type and reads attributes. The configuration models travel as they are (pydantic
models pickle), so the child sees exactly what the main process validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a detector process need not import the camera's (database) modules
    from atalaia.cluster.fencing import Fence
    from atalaia.config.cameras import CameraConfig
    from atalaia.config.detectors import DetectorConfig
    from atalaia.config.media import MediaConfig


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One detector process: its model, and the Unix socket its cameras connect to."""

    detector: DetectorConfig
    address: str  # the socket's path, in the pipeline's run directory
    authkey: bytes  # shared by the pipeline's processes; a connection without it is refused


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """One camera process.

    `detector_addresses` maps each of the camera's models to its detector's socket. `sinks`
    names the enabled sinks an alert is written to the outbox for (empty: the database only).
    `database_url` None: alerts cannot be kept (logged at start). `fence` is the cluster lease
    the camera runs under (None outside a cluster): its alert writes check it.
    """

    camera: CameraConfig
    ring: str  # the name of the camera's shared-memory `FrameRing`, created by the pipeline
    data_dir: Path
    target_fps: float | None
    detector_addresses: Mapping[str, str]
    authkey: bytes
    database_url: str | None
    sinks: tuple[str, ...]
    media: MediaConfig
    prompts: Path | None
    fence: Fence | None
    # Where in each detection period the camera asks (`DetectionSchedule`): spread over the
    # cameras so the shared detector gets a steady flow rather than bursts.
    detect_phase: float = 0.0
