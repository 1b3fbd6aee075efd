"""`atalaia detect PATH`: images, videos, JSON lines, annotated output, clean failures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from numpy.typing import NDArray
from typer.testing import CliRunner

from atalaia.cli.detect_cmd import detect
from atalaia.detect import sample_image

app = typer.Typer()
app.command("detect")(detect)


@app.command("noop")
def _noop() -> None:
    """A second command, so `detect` is a subcommand as in the real CLI."""


runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["detect", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five frames of the photo sliding right by 10 px per frame, MJPEG in AVI."""
    path = tmp_path_factory.mktemp("video") / "walk.avi"
    image = cv2.imread(str(sample_image()))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (640, 466))
    for step in range(5):
        writer.write(np.ascontiguousarray(image[:, step * 10 : step * 10 + 640]))
    writer.release()
    return path


def test_image_summary() -> None:
    code, out, _ = invoke(str(sample_image()), "--size", "416")
    assert code == 0
    first, summary = out.strip().splitlines()
    assert first.startswith("frame 0 (700x466): 5 detection(s): person 0.")
    assert "found 2 person, 2 bicycle, 1 dog" in summary


def test_image_json_and_saved_annotation(tmp_path: Path, photo: NDArray[np.uint8]) -> None:
    saved = tmp_path / "annotated.png"
    code, out, _ = invoke(str(sample_image()), "--json", "--save", str(saved))
    assert code == 0
    (line,) = out.strip().splitlines()
    record = json.loads(line)
    assert (record["frame"], record["width"], record["height"]) == (0, 700, 466)
    names = sorted(d["class_name"] for d in record["detections"])
    assert names == ["bicycle", "bicycle", "dog", "person", "person"]
    assert set(record["detections"][0]["bbox"]) == {"x", "y", "width", "height"}
    drawn = cv2.imread(str(saved))
    assert drawn is not None and drawn.shape == photo.shape
    assert np.abs(drawn.astype(int) - photo.astype(int)).sum() > 0, "boxes were drawn"


def test_video_gives_one_json_object_per_frame(video: Path, tmp_path: Path) -> None:
    saved = tmp_path / "first.png"
    code, out, _ = invoke(str(video), "--json", "--size", "320", "--save", str(saved))
    assert code == 0
    records = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["frame"] for r in records] == [0, 1, 2, 3, 4]
    assert all(r["width"] == 640 for r in records)
    assert all(any(d["class_name"] == "person" for d in r["detections"]) for r in records)
    assert cv2.imread(str(saved)).shape == (466, 640, 3)


def test_video_max_frames(video: Path) -> None:
    code, out, _ = invoke(str(video), "--json", "--size", "320", "--max-frames", "2")
    assert code == 0 and len(out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["/no/such/photo.jpg"], "/no/such/photo.jpg: no such file"),
        (["{tmp}"], "not a file"),
        (["{tmp}/notes.txt"], "cannot read it as an image or a video"),
        (["{image}", "--size", "500"], "invalid option input_size"),
        (["{image}", "--model", "{tmp}/notes.txt"], "cannot load"),
        (["{image}", "--model", "/no/model.onnx"], "model file not found: /no/model.onnx"),
        (["{image}", "--save", "{tmp}/missing_dir/out.png"], "cannot write the annotated image"),
    ],
)
def test_failures_are_one_line_and_status_2(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "notes.txt").write_text("not a picture\n")
    filled = [a.format(tmp=tmp_path, image=sample_image()) for a in args]
    code, _, err = invoke(*filled)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atalaia detect: error: "), err
    assert expected in lines[0]
