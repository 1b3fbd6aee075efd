"""Bad configuration: each kind names the file, the key path, the line, and what was expected,
and the CLI exits with status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from atalaia.cli.main import app
from atalaia.config import ConfigError, load_config

GOOD_CAMERA = "  - id: a\n    source: rtsp://cam.local/s\n"

# (name, yaml text, expected key path, expected line or None, words the message must contain)
CASES = [
    ("wrong type", "server:\n  port: abc\n", "server.port", 2, "integer"),
    ("unknown key", "server:\n  hots: 0.0.0.0\n", "server.hots", 2, "did you mean 'host'"),
    (
        "missing required key",
        "cameras:\n  - id: a\n",
        "cameras[0].source",
        2,
        "missing required key",
    ),
    (
        "bad URL scheme",
        "cameras:\n  - id: a\n    source:\n      url: rtps://cam.local/s\n",
        "cameras[0].source.url",
        4,
        "expected one of the schemes",
    ),
    (
        "URL without host",
        "cameras:\n  - id: a\n    source: rtsp:///s\n",
        "cameras[0].source.url",
        3,
        "host",
    ),
    (
        "not a URL",
        "cameras:\n  - id: a\n    source: camera-one\n",
        "cameras[0].source.url",
        3,
        "expected a URL",
    ),
    (
        "negative fps",
        "cameras:\n" + GOOD_CAMERA + "    detect:\n      fps: -5\n",
        "cameras[0].detect.fps",
        5,
        "greater than 0",
    ),
    (
        "duplicate camera id",
        "cameras:\n" + GOOD_CAMERA + GOOD_CAMERA,
        "cameras[1].id",
        4,
        "duplicate camera id 'a'",
    ),
    ("unknown sink type", "sinks:\n  - type: kafka\n", "sinks[0].type", 2, "expected one of"),
    ("sink without type", "sinks:\n  - host: x\n", "sinks[0].type", 2, "missing key 'type'"),
    (
        "sink port out of range",
        "sinks:\n  - type: mqtt\n    port: 70000\n",
        "sinks[0].port",
        3,
        "65535",
    ),
    (
        "unknown detector",
        "cameras:\n" + GOOD_CAMERA + "    detect: {detector: big}\n",
        "cameras[0].detect.detector",
        4,
        "unknown detector 'big'",
    ),
    (
        "rule on unknown zone",
        "cameras:\n"
        + GOOD_CAMERA
        + "    rules:\n      - {type: loitering, zone: dock, seconds: 60}\n",
        "cameras[0].rules[0].zone",
        5,
        "unknown zone 'dock'",
    ),
    (
        "unknown rule type",
        "cameras:\n" + GOOD_CAMERA + "    rules:\n      - {type: loiter, seconds: 60}\n",
        "cameras[0].rules[0].type",
        5,
        "expected one of 'count_above', 'line_crossing', 'loitering', 'object_in_zone', "
        "'ppe_missing'; got 'loiter'",
    ),
    (
        "misspelt rule key",
        "cameras:\n"
        + GOOD_CAMERA
        + "    rules:\n      - {type: loitering, seconds: 60, cooldwn: 5}\n",
        "cameras[0].rules[0].cooldwn",
        5,
        "did you mean 'cooldown'? Expected one of: name, enabled, zone, labels, min_score, "
        "cooldown, type, seconds",
    ),
    (
        "duplicate zone name",
        "cameras:\n"
        + GOOD_CAMERA
        + "    zones:\n"
        + "      - {name: z, points: [[0, 0], [1, 0], [1, 1]]}\n"
        + "      - {name: z, points: [[0, 0], [1, 0], [0, 1]]}\n",
        "cameras[0].zones[1].name",
        6,
        "duplicate zone name 'z' (also zones[0])",
    ),
    (
        "too many zones",
        "cameras:\n"
        + GOOD_CAMERA
        + "    zones:\n"
        + "".join(
            f"      - {{name: z{i}, points: [[0, 0], [1, 0], [1, 1]]}}\n" for i in range(101)
        ),
        "cameras[0].zones",
        4,
        "expected at most 100 zones per camera, got 101",
    ),
    (
        "too many points in a zone",
        "cameras:\n"
        + GOOD_CAMERA
        + "    zones:\n      - name: z\n        points: "
        + str([[i, i % 2] for i in range(101)])
        + "\n",
        "cameras[0].zones[0].points",
        6,
        "expected at most 100 points in a zone, got 101",
    ),
    (
        "NUL in a camera name",
        "cameras:\n" + GOOD_CAMERA + '    name: "dock\\0"\n',
        "cameras[0].name",
        4,
        "NUL character",
    ),
    (
        "zone with two points",
        "cameras:\n"
        + GOOD_CAMERA
        + "    zones:\n      - name: z\n        points: [[0, 0], [1, 1]]\n",
        "cameras[0].zones[0].points",
        6,
        "at least 3",
    ),
    (
        "USB pixel format unknown",
        "cameras:\n  - id: a\n    source:\n      url: /dev/video0\n"
        "      device:\n        pixel_format: rgb\n",
        "cameras[0].source.device.pixel_format",
        6,
        "'mjpeg', 'yuyv' or 'h264'",
    ),
    (
        "USB width without height",
        "cameras:\n  - id: a\n    source:\n      url: /dev/video0\n"
        "      device:\n        width: 1280\n",
        "cameras[0].source.device.height",
        None,
        "width and height go together",
    ),
    (
        "USB settings on a network camera",
        "cameras:\n  - id: a\n    source:\n      url: rtsp://cam.local/s\n"
        "      device:\n        fps: 30\n",
        "cameras[0].source.device",
        5,
        "only to USB cameras",
    ),
    (
        "seed key wrong type",
        "supervisor_max_restarts: many\n",
        "supervisor_max_restarts",
        1,
        "integer",
    ),
    (
        "heartbeat interval above timeout",
        "supervisor:\n  heartbeat_interval: 60\n  heartbeat_timeout: 30\n",
        "supervisor.heartbeat_interval",
        2,
        "below heartbeat_timeout",
    ),
    (
        "realtime on an unknown detector",
        "realtime:\n  detector: big\n",
        "realtime.detector",
        2,
        "unknown detector 'big'",
    ),
    ("bad database URL", "database:\n  url: mysql://x/y\n", "database.url", 2, "sqlite"),
    ("bad log level", "logging:\n  level: LOUD\n", "logging.level", 2, "'DEBUG'"),
    ("duplicate YAML key", "server:\n  port: 1\n  port: 2\n", "server.port", 3, "duplicate key"),
    ("invalid YAML", "server:\n  port: [1, 2\nsinks: []\n", "", None, "invalid YAML"),
    ("top level is a list", "- a\n- b\n", "", 1, "expected a mapping"),
]


@pytest.mark.parametrize(("name", "text", "key", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_names_file_key_line(
    tmp_path: Path, name: str, text: str, key: str, line: int | None, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problem = err.value.problems[0]
    assert problem.origin == str(path)
    assert problem.path == key
    if line is not None:
        assert problem.line == line
    assert words in problem.message

    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output and key in result.output and words in result.output


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server:\n  port: abc\n  hots: x\nlogging:\n  level: LOUD\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert {p.path for p in err.value.problems} == {"server.port", "server.hots", "logging.level"}


@pytest.mark.parametrize("kind", ["missing", "directory", "not utf-8"])
def test_unreadable_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "atalaia.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not utf-8":
        path.write_bytes(b"server:\n  host: \xff\xfe\n")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output


def test_secret_in_bad_value_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "cameras:\n  - id: a\n    source: rtps://admin:hunter2@cam/s\n"
        "sinks:\n  - type: mqtt\n    password: [x]\n"
    )
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert "hunter2" not in result.output
