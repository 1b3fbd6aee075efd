"""The basic monitors of design note 002: host metrics, the ESP32 on a serial port, cameras.

They run for as long as the service lives, even while alert processing is stopped, so their
settings sit apart from the pipeline's. Defaults: host and camera monitors on, the serial
monitor off until a `port` is set (most installations have no board).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from atalaia.config.base import StrictModel

AlertEventType = Literal["new", "update", "end"]


class HostMonitorConfig(StrictModel):
    """CPU, memory, disk, load, temperature and process count, sampled every `interval`."""

    enabled: bool = True
    interval: float = Field(5.0, ge=0.5, le=3600)
    disk_path: Path | None = Field(
        None, description="the directory whose disk usage is reported; unset: data_dir"
    )


class CameraMonitorConfig(StrictModel):
    """A TCP connect (or a file check) per enabled camera every `interval`, apart from capture.

    `timeout` bounds one check; a check still running when the next round starts is not
    started again, so a host that never answers costs one worker, never a pile of them.
    """

    enabled: bool = True
    interval: float = Field(15.0, ge=0.1, le=3600)
    timeout: float = Field(3.0, gt=0, le=60)
    max_workers: int = Field(8, ge=1, le=64, description="checks that run at the same time")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class AlertMatchConfig(StrictModel):
    """Which alerts trigger a command. Every field that is set must match (a list: any of its
    values); an empty match takes every alert. `events` defaults to `new` only, so the
    `update`s of one alert do not switch the siren on again and again."""

    camera: list[str] | None = None
    label: list[str] | None = None
    rule: list[str] | None = None
    rule_type: list[str] | None = None
    zone: list[str] | None = None
    events: list[AlertEventType] = Field(["new"], min_length=1)

    @field_validator("camera", "label", "rule", "rule_type", "zone", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("events", mode="before")
    @classmethod
    def _events_one_or_many(cls, value: Any) -> Any:
        return _as_list(value)


class SerialCommandConfig(StrictModel):
    """A command for the board (see docs/serial-protocol.md): switch `action` (a siren, a relay,
    a light) `on` or `off`; `duration_s` asks the board to switch it back off by itself."""

    action: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    state: Literal["on", "off"] = "on"
    duration_s: float | None = Field(None, gt=0, le=86400)
    channel: int | None = Field(
        None, ge=0, le=255, description="which relay, on multi-relay boards"
    )

    @field_validator("state", mode="before")
    @classmethod
    def _yaml_booleans(cls, state: Any) -> Any:
        # YAML 1.1 reads an unquoted `on`/`off` as true/false.
        if isinstance(state, bool):
            return "on" if state else "off"
        return state


class SerialAlertCommand(StrictModel):
    """One entry of `alert_commands`: when an alert matches, send the command."""

    match: AlertMatchConfig = AlertMatchConfig()
    command: SerialCommandConfig


class SerialMonitorConfig(StrictModel):
    """An ESP32 (or any board speaking docs/serial-protocol.md) on a serial port.

    `port` is anything pyserial's `serial_for_url` opens: `/dev/ttyUSB0`, a pty path,
    `socket://host:port`, `rfc2217://host:port`, `loop://`. Unset: the monitor is disabled.
    """

    enabled: bool = True
    port: str | None = None
    baudrate: int = Field(115200, ge=300, le=4_000_000)
    heartbeat_timeout: float = Field(
        10.0, gt=0, le=3600, description="the board is offline when no heartbeat came this long"
    )
    read_timeout: float = Field(0.5, gt=0, le=10)
    write_timeout: float = Field(1.0, gt=0, le=60)
    reconnect_initial: float = Field(1.0, gt=0, le=60)
    reconnect_max: float = Field(30.0, gt=0, le=3600)
    max_line_bytes: int = Field(512, ge=64, le=65536)
    queue_size: int = Field(32, ge=1, le=4096, description="commands waiting for the port")
    command_max_age: float = Field(
        10.0, gt=0, le=3600, description="a command not written within this many seconds is dropped"
    )
    alert_commands: list[SerialAlertCommand] = []

    @field_validator("port")
    @classmethod
    def _non_empty(cls, port: str | None) -> str | None:
        if port is None:
            return None
        port = port.strip()
        if not port:
            raise ValueError("expected a serial port such as /dev/ttyUSB0 or socket://host:port")
        return port

    @model_validator(mode="after")
    def _backoff_ordered(self) -> SerialMonitorConfig:
        if self.reconnect_max < self.reconnect_initial:
            # Imported here: `config.app` imports this module at its top.
            from atalaia.config.app import KeyedValueError

            raise KeyedValueError(
                ("reconnect_max",),
                f"expected reconnect_max >= reconnect_initial ({self.reconnect_initial}), "
                f"got {self.reconnect_max}",
            )
        return self

    @property
    def active(self) -> bool:
        """True when the monitor should run: enabled and a port is configured."""
        return self.enabled and self.port is not None


class MonitorsConfig(StrictModel):
    """The three basic monitors of the BackgroundManager."""

    host: HostMonitorConfig = HostMonitorConfig()
    serial: SerialMonitorConfig = SerialMonitorConfig()
    camera: CameraMonitorConfig = CameraMonitorConfig()
