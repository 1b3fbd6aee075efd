"""`detect.detector` (one model) and `detect.detectors` (several): the forms, the round trip
through the database's JSON, and the errors that name the exact key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from atalaia.cli.main import app
from atalaia.config import CameraConfig, ConfigError, load_config

HEAD = (
    "detectors:\n"
    "  default: {type: onnx}\n"
    "  ppe: {type: onnx, input_size: 320}\n"
    "cameras:\n"
    "  - id: a\n"
    "    source: rtsp://cam.local/s\n"
)


def test_several_detectors_in_order_and_the_one_model_forms(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        HEAD
        + "    detect: {detectors: [ppe, default]}\n"
        + "  - id: b\n    source: rtsp://cam.local/b\n    detect: {detector: ppe}\n"
        + "  - id: c\n    source: rtsp://cam.local/c\n"
    )
    config = load_config(path, env={})
    a, b, c = config.cameras
    assert a.detect.detector_names == ["ppe", "default"]
    assert b.detect.detector_names == ["ppe"]
    assert c.detect.detector_names == ["default"]
    # Stored as JSON in the database and read back: the same camera, no "both forms" error.
    for camera in (a, b, c):
        again = CameraConfig.model_validate(camera.model_dump(mode="json"))
        assert again == camera


CASES = [
    (
        "both forms",
        HEAD + "    detect: {detector: default, detectors: [ppe]}\n",
        "cameras[0].detect.detectors",
        7,
        "either detector (one model) or detectors (a list), not both",
    ),
    (
        "unknown model in the list",
        HEAD + "    detect:\n      detectors:\n        - default\n        - helmets\n",
        "cameras[0].detect.detectors[1]",
        10,
        "unknown detector 'helmets'; expected one of: default, ppe",
    ),
    (
        "a model twice",
        HEAD + "    detect:\n      detectors: [ppe, ppe]\n",
        "cameras[0].detect.detectors[1]",
        8,
        "detector 'ppe' is listed twice (also detectors[0])",
    ),
    (
        "empty list",
        HEAD + "    detect:\n      detectors: []\n",
        "cameras[0].detect.detectors",
        8,
        "at least 1",
    ),
    (
        "unknown model, one-model form",
        HEAD + "    detect: {detector: helmets}\n",
        "cameras[0].detect.detector",
        7,
        "unknown detector 'helmets'",
    ),
]


@pytest.mark.parametrize(("name", "text", "key", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_detector_lists_name_file_key_line(
    tmp_path: Path, name: str, text: str, key: str, line: int, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problem = err.value.problems[0]
    assert (problem.origin, problem.path, problem.line) == (str(path), key, line)
    assert words in problem.message

    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output and key in result.output and words in result.output
