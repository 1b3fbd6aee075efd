"""The whole application's configuration: one typed tree, loaded from YAML plus `ATALAIA_*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from atalaia.config.base import StrictModel
from atalaia.config.cameras import CameraConfig, demo_camera
from atalaia.config.cluster import ClusterConfig
from atalaia.config.detectors import DetectorConfig, default_detectors
from atalaia.config.media import MediaConfig
from atalaia.config.monitors import MonitorsConfig
from atalaia.config.realtime import RealtimeConfig
from atalaia.config.roi_merge import RoiSource, as_source_list
from atalaia.config.sinks import OutboxConfig, SinkConfig, database_sink
from atalaia.redact_config import config_secrets


class KeyedValueError(ValueError):
    """A cross-field error that knows which key, below the model that raised it, is wrong.

    Pydantic reports a model validator's errors at the model itself; the loader appends `loc`
    so the message can name e.g. `cameras[3].id` and its line, not just `cameras`.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class ServerConfig(StrictModel):
    """The HTTP API. Binds to localhost unless told otherwise."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = Field(
        None, description="API token; generated at first start (and printed once) when unset"
    )
    public_health: bool = True
    public_metrics: bool = True
    live_max_fps: float = Field(10.0, gt=0, le=30, description="cap on each live-view viewer")
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="largest request body the API reads (bytes); larger ones get 413 unread. "
        "Socket.IO frames have their own limit (realtime.max_message_bytes)",
    )


class DatabaseConfig(StrictModel):
    """Where cameras, alerts and the delivery outbox live. Unset: SQLite in the data directory."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "expected a SQLAlchemy URL starting with sqlite:///, postgresql:// "
                "or postgresql+psycopg://"
            )
        return url

    def effective_url(self, data_dir: Path) -> str:
        """The URL to connect to; plain `postgresql://` is routed to the psycopg 3 driver."""
        if self.url is None:
            return f"sqlite:///{(data_dir / 'atalaia.db').resolve()}"
        if self.url.startswith("postgresql://"):
            return "postgresql+psycopg://" + self.url.removeprefix("postgresql://")
        return self.url


class LoggingConfig(StrictModel):
    """One log writer for every process; the hot path only ever puts a record on a queue."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["text", "json"] = "text"
    file: Path | None = Field(None, description="log file; unset: <data_dir>/atalaia.log")
    console: bool = True
    queue_size: int = Field(10000, ge=100, le=1_000_000)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, level: Any) -> Any:
        return level.upper() if isinstance(level, str) else level


class SupervisorConfig(StrictModel):
    """Heartbeats and the restart window (as Erlang/OTP supervisors and systemd's
    StartLimitBurst): more than `max_restarts` within `restart_window` stops the restarts.

    `nice`: camera and detector processes run this much below the service's CPU priority, so
    an operator's window on the same machine (the desktop viewer, a browser) is scheduled
    before frame work when the CPU is short; on a machine doing nothing else it changes
    nothing (docs/viewer.md has the measurements)."""

    heartbeat_interval: float = Field(5.0, gt=0, le=600)
    heartbeat_timeout: float = Field(30.0, gt=0, le=3600)
    start_timeout: float = Field(
        900.0,
        gt=0,
        le=7200,
        description="How long a started child may load before its first progress (a detector "
        "opening its models: on its first start TensorRT builds an engine per batch size of "
        "call_batches, each taking up to minutes, then loads them from its cache; CUDA plans "
        "each size in seconds); after that, heartbeat_timeout applies. The larger of the two "
        "is used.",
    )
    max_restarts: int = Field(5, ge=0, le=10000)
    restart_window: float = Field(3600.0, gt=0, le=7 * 86400)
    shutdown_timeout: float = Field(10.0, gt=0, le=300)
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="CPU priority increment of camera and detector processes (0: the service's)",
    )

    @model_validator(mode="after")
    def _interval_below_timeout(self) -> SupervisorConfig:
        if self.heartbeat_interval >= self.heartbeat_timeout:
            raise KeyedValueError(
                ("heartbeat_interval",),
                f"expected a heartbeat interval below heartbeat_timeout "
                f"({self.heartbeat_timeout}), got {self.heartbeat_interval}",
            )
        return self


class PipelineConfig(StrictModel):
    """Frames in shared memory: how big a frame may be, how many a camera keeps."""

    max_frame_width: int = Field(1920, ge=64, le=7680)
    max_frame_height: int = Field(1080, ge=64, le=4320)
    ring_slots: int | None = Field(
        None, ge=4, le=512, description="frames kept per camera; unset: enough for max_age"
    )


# Keys of the user's supervisor notes, accepted at the top level of a file.
SEED_SUPERVISOR_KEYS = {
    "supervisor_heartbeat_timeout": "heartbeat_timeout",
    "supervisor_max_restarts": "max_restarts",
    "supervisor_restart_window": "restart_window",
}


class AtalaiaConfig(StrictModel):
    """Everything atalaia needs. With no file at all the defaults run an embedded set-up:
    SQLite in `data_dir`, the built-in model and one demo camera."""

    data_dir: Path = Path("data")
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    pipeline: PipelineConfig = PipelineConfig()
    media: MediaConfig = MediaConfig()
    realtime: RealtimeConfig = RealtimeConfig()
    monitors: MonitorsConfig = MonitorsConfig()
    target_fps: float | None = Field(
        None, gt=0, le=240, description="capture cap for cameras that set none"
    )
    prompts: Path | None = Field(None, description="protective-equipment prompts file (YAML)")
    roi: list[RoiSource] = Field(
        [],
        description="ROI files whose polygons become zones of the cameras (merged when the "
        "file is loaded, before rules are checked); a file name, a mapping or a list",
    )
    detectors: dict[str, DetectorConfig] = Field(default_factory=default_detectors)
    cameras: list[CameraConfig] = Field(default_factory=lambda: [demo_camera()])
    sinks: list[SinkConfig] = Field(default_factory=lambda: [database_sink()])
    outbox: OutboxConfig = OutboxConfig()
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

    @model_validator(mode="before")
    @classmethod
    def _seed_keys(cls, data: Any) -> Any:
        """Fold the seed's flat `supervisor_*` keys into the `supervisor` section."""
        if not isinstance(data, dict) or not any(k in data for k in SEED_SUPERVISOR_KEYS):
            return data
        data = dict(data)
        section = data.get("supervisor")
        section = dict(section) if isinstance(section, dict) else {}
        for flat, key in SEED_SUPERVISOR_KEYS.items():
            if flat in data:
                section[key] = data.pop(flat)
        data["supervisor"] = section
        return data

    @field_validator("roi", mode="before")
    @classmethod
    def _roi_list(cls, roi: Any) -> Any:
        return [] if roi is None else as_source_list(roi)

    @model_validator(mode="after")
    def _cross_references(self) -> AtalaiaConfig:
        seen: dict[str, int] = {}
        for i, cam in enumerate(self.cameras):
            if cam.id in seen:
                raise KeyedValueError(
                    ("cameras", i, "id"),
                    f"duplicate camera id {cam.id!r} (also cameras[{seen[cam.id]}].id)",
                )
            seen[cam.id] = i
            for j, name in enumerate(cam.detect.detector_names if cam.detect.enabled else []):
                if name not in self.detectors:
                    known = ", ".join(sorted(self.detectors)) or "none defined"
                    raise KeyedValueError(
                        ("cameras", i, "detect", *cam.detect.detector_key(j)),
                        f"unknown detector {name!r}; expected one of: {known}",
                    )
        if self.realtime.enabled and self.realtime.detector not in self.detectors:
            known = ", ".join(sorted(self.detectors)) or "none defined"
            raise KeyedValueError(
                ("realtime", "detector"),
                f"unknown detector {self.realtime.detector!r}; expected one of: {known}",
            )
        names: dict[str, int] = {}
        for i, sink in enumerate(self.sinks):
            name = self.sink_name(sink)
            if name in names:
                raise KeyedValueError(
                    ("sinks", i, "name"),
                    f"duplicate sink name {name!r} (also sinks[{names[name]}]); give each a name",
                )
            names[name] = i
        if self.cluster.enabled and not self.database_url.startswith("postgresql"):
            raise KeyedValueError(
                ("cluster", "enabled"),
                "expected database.url to name a PostgreSQL database: nodes share cameras "
                "through PostgreSQL row locks, which SQLite does not have",
            )
        if not any(s.type == "database" for s in self.sinks):
            # Alerts always land in the database: the API and the outbox are built on it.
            self.sinks.insert(0, database_sink())
        return self

    @staticmethod
    def sink_name(sink: SinkConfig) -> str:
        return sink.name or sink.type

    @property
    def database_url(self) -> str:
        return self.database.effective_url(self.data_dir)

    @property
    def log_file(self) -> Path:
        return self.logging.file or self.data_dir / "atalaia.log"

    def secrets(self) -> list[str]:
        """Every configured secret value (SecretStr values, URL passwords, secret-named fields),
        for masking in logs, `config check` and API responses."""
        return config_secrets(self)
