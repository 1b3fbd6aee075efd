"""Loading the configuration: defaults, seed keys, environment overrides, masked output."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.config import ConfigError, load_config, masked_dump, render_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "atalaia.yaml"
    path.write_text(text)
    return path


def test_no_file_gives_embedded_defaults() -> None:
    cfg = load_config(None, env={})
    assert cfg.server.host == "127.0.0.1" and cfg.server.port == 8000
    assert cfg.database_url.startswith("sqlite:///") and cfg.database_url.endswith("atalaia.db")
    assert [c.id for c in cfg.cameras] == ["demo"]
    assert cfg.cameras[0].source.url.startswith("demo://")
    assert cfg.detectors["default"].model is None  # the built-in model
    assert [s.type for s in cfg.sinks] == ["database"]


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), env={}) == load_config(None, env={})


def test_seed_keys_fold_into_supervisor_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "supervisor_heartbeat_timeout: 12.5\nsupervisor_max_restarts: 2\n"
        "supervisor_restart_window: 60\ntarget_fps: 10\n",
    )
    cfg = load_config(path, env={})
    assert cfg.supervisor.heartbeat_timeout == 12.5
    assert cfg.supervisor.max_restarts == 2
    assert cfg.supervisor.restart_window == 60
    assert cfg.target_fps == 10


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  port: 9000\ncameras:\n  - id: a\n    source: rtsp://h/s\n")
    env = {
        "ATALAIA_SERVER__PORT": "9100",
        "ATALAIA_SERVER__TOKEN": "0123",  # stays a string, not an octal number
        "ATALAIA_DATA_DIR": str(tmp_path / "d"),
        "ATALAIA_CAMERAS__0__SOURCE__URL": "rtsp://other/s",
        "ATALAIA_CAMERAS__0__DETECT__CLASSES": "[person, car]",
        "ATALAIA_CONFIG": "ignored.yaml",
        "ATALAIA_TEST_SOMETHING": "ignored",
    }
    cfg = load_config(path, env=env)
    assert cfg.server.port == 9100
    assert cfg.server.token is not None and cfg.server.token.get_secret_value() == "0123"
    assert cfg.data_dir == tmp_path / "d"
    assert cfg.cameras[0].source.url == "rtsp://other/s"
    assert cfg.cameras[0].detect.classes == ["person", "car"]


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, env={"ATALAIA_SERVER__PORT": "eighty"})
    text = str(err.value)
    assert "environment variable ATALAIA_SERVER__PORT" in text and "server.port" in text


def test_unknown_environment_key_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, env={"ATALAIA_SERVR__PORT": "1"})
    assert "ATALAIA_SERVR__PORT" in str(err.value) and "unknown key 'servr'" in str(err.value)


def test_postgres_url_uses_psycopg_driver(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  url: postgresql://u:pw@127.0.0.1/test\n")
    assert load_config(path, env={}).database_url.startswith("postgresql+psycopg://u:pw@")


SECRET_CONFIG = """
server:
  token: tok-very-secret-1
cameras:
  - id: gate
    source: rtsp://admin:hunter2@10.0.0.5:554/stream1?token=qs-secret-9
sinks:
  - type: mqtt
    username: bob
    password: mqtt-pass-7
  - type: amqp
    url: amqp://guest:amqp-pass-3@127.0.0.1:5672/
  - type: webhook
    url: https://hooks.example/x
    secret: hmac-key-5
"""


def test_masked_dump_hides_every_secret(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SECRET_CONFIG), env={})
    text = render_yaml(cfg)
    for secret in (
        "tok-very-secret-1",
        "hunter2",
        "qs-secret-9",
        "mqtt-pass-7",
        "amqp-pass-3",
        "hmac-key-5",
    ):
        assert secret not in text
    assert "rtsp://admin:***@10.0.0.5:554/stream1" in text
    assert masked_dump(cfg)["cameras"][0]["id"] == "gate"
    # The real values are still there for the service to use.
    assert cfg.cameras[0].source.url.startswith("rtsp://admin:hunter2@")
    # URL passwords count as secrets by value too: an error text may quote one without its URL.
    assert "hunter2" in cfg.secrets()
