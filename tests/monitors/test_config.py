"""MonitorsConfig defaults and the mistakes it rejects."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from atalaia.config.monitors import MonitorsConfig, SerialMonitorConfig


def test_defaults_host_and_camera_on_serial_off() -> None:
    config = MonitorsConfig()
    assert config.host.enabled and config.camera.enabled
    assert config.serial.port is None and not config.serial.active
    assert config.serial.alert_commands == []
    assert SerialMonitorConfig(port="/dev/ttyUSB0").active
    assert not SerialMonitorConfig(port="/dev/ttyUSB0", enabled=False).active


@pytest.mark.parametrize(
    "serial",
    [
        {"port": "  "},
        {"port": "/dev/ttyUSB0", "baudrat": 9600},
        {"reconnect_initial": 10, "reconnect_max": 1},
        {"alert_commands": [{"match": {"camera": "x"}}]},
        {"alert_commands": [{"command": {"action": "Siren!"}}]},
        {"alert_commands": [{"command": {"action": "siren", "state": "blink"}}]},
        {"alert_commands": [{"match": {"events": ["created"]}, "command": {"action": "siren"}}]},
        {"alert_commands": [{"match": {"events": []}, "command": {"action": "siren"}}]},
    ],
)
def test_serial_mistakes_are_rejected(serial: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MonitorsConfig.model_validate({"serial": serial})


def test_reconnect_error_names_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        SerialMonitorConfig(reconnect_initial=10, reconnect_max=1)
    assert "reconnect_max" in str(info.value)


def test_unquoted_yaml_on_and_off_are_states() -> None:
    config = yaml.safe_load(
        "port: /dev/ttyUSB0\n"
        "alert_commands:\n"
        "  - command: {action: siren, state: on}\n"
        "  - command: {action: siren, state: off}\n"
    )
    states = [e.command.state for e in SerialMonitorConfig.model_validate(config).alert_commands]
    assert states == ["on", "off"]
