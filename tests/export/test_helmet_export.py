"""The real PPE checkpoint end to end: helmet-detector's YOLOv12m (trained with the YOLOv12
authors' fork) exported by `atalaia models export`, checked by `atalaia models check`, and run
by the runtime on a real photo.

The exported model is compared with the ORIGINAL checkpoint run with the fork's attention as
the fork computes it (separate qk and v convolutions, 5x5 position encoder), written out from
the fork's published structure in tests/export/fork_reference.py; stock ultralytics cannot run
the checkpoint at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, sample_image
from atalaia.detect.labels import names_from_metadata
from tests.fixtures.helmet_model import HelmetModel

from .conftest import helmet_checkpoint, needs_export_extra, run_atalaia
from .fork_reference import fork_forward

SIZE = 640


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    needs_export_extra()
    return helmet_checkpoint()


@pytest.fixture(scope="module")
def exported(helmet_export: HelmetModel) -> Path:
    """The session's one export of the checkpoint (tests/fixtures/helmet_model.py), and what
    `atalaia models export` printed when it wrote it."""
    stdout = helmet_export.export_stdout
    assert "repacked 8 YOLOv12-fork attention block(s)" in stdout
    assert f"wrote {helmet_export.onnx}" in stdout
    assert "yolov8 head, input 640x640, dynamic batch, 2 classes (With Helmet, Without Helmet)" in (
        stdout
    )
    return helmet_export.onnx


def test_names_and_shape_are_in_the_onnx_file(exported: Path) -> None:
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    assert names_from_metadata(metadata) == ("With Helmet", "Without Helmet")
    assert metadata["license"].startswith("AGPL-3.0")
    assert metadata["atalaia_exported_from"] == "best.pt"
    (image_input,) = session.get_inputs()
    assert image_input.shape == ["batch", 3, SIZE, SIZE]


def test_models_check_finds_both_heads_on_the_photo(exported: Path) -> None:
    done = run_atalaia("models", "check", str(exported), str(sample_image()), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["head_format"] == "yolov8"
    assert report["class_names"] == ["With Helmet", "Without Helmet"]
    assert report["names_source"] == "model metadata"
    heads = report["image"]["detections"]
    # The photo: two cyclists walking their bikes, bare-headed. Each head is found once.
    assert len(heads) == 2
    people = _people_on_the_photo()
    for head in heads:
        box = head["bbox"]
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        inside = [
            p for p in people if p[0] <= cx <= p[2] and p[1] <= cy <= p[1] + 0.35 * (p[3] - p[1])
        ]
        assert len(inside) == 1, f"{head} is not in the top of one person box of {people}"
    man = min(heads, key=lambda d: d["bbox"]["x"])
    assert man["class_name"] == "Without Helmet" and man["confidence"] > 0.6


def test_export_computes_what_the_fork_computes(checkpoint: Path, exported: Path) -> None:
    torch = pytest.importorskip("torch")
    model = _checkpoint_model(torch, checkpoint)
    for module in model.modules():
        if type(module).__name__ == "AAttn":
            module.forward = fork_forward(torch, module)
    batch = _photo_tensor()
    with torch.no_grad():
        reference = model(torch.from_numpy(batch))[0].numpy()
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    (ours,) = session.run(None, {"images": batch})
    assert ours.shape == reference.shape == (1, 6, 8400)
    assert np.abs(ours[:, :4] - reference[:, :4]).max() < 0.02  # box pixels at 640
    assert np.abs(ours[:, 4:] - reference[:, 4:]).max() < 1e-4  # class scores
    assert reference[0, 4:].max() > 0.7  # the comparison covers confident detections


def test_stock_ultralytics_cannot_run_the_checkpoint_as_shipped(checkpoint: Path) -> None:
    """Why the repacking exists: the fork's attention unpickles as stock `AAttn` without `qkv`."""
    torch = pytest.importorskip("torch")
    model = _checkpoint_model(torch, checkpoint)
    with pytest.raises(AttributeError, match="qkv"), torch.no_grad():
        model(torch.zeros(1, 3, 320, 320))


def test_prompts_are_refused_for_a_closed_vocabulary_model(
    checkpoint: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text("equipment:\n  helmet: [helmet]\n")
    done = run_atalaia(
        "models",
        "export",
        str(checkpoint),
        "--prompts",
        str(prompts),
        "--out",
        str(tmp_path / "x.onnx"),
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "--prompts sets the vocabulary of YOLO-World" in line
    assert "(With Helmet, Without Helmet)" in line
    assert not (tmp_path / "x.onnx").exists()


def _checkpoint_model(torch: Any, checkpoint: Path) -> Any:
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = saved["ema"] if saved.get("ema") is not None else saved["model"]
    return model.float().eval()


def _photo_tensor() -> NDArray[np.float32]:
    image = cv2.imread(str(sample_image()), cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(cv2.resize(image, (SIZE, SIZE)), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def _people_on_the_photo() -> list[tuple[float, float, float, float]]:
    """Person boxes (x1, y1, x2, y2) from the built-in YOLO11n."""
    detector = build_detector(OnnxDetectorConfig(latency_session=False, concurrent_runs=1))
    try:
        image = cv2.imread(str(sample_image()), cv2.IMREAD_COLOR)
        (found,) = detector.detect([np.asarray(image, dtype=np.uint8)])
    finally:
        detector.close()
    return [
        tuple(map(float, box))
        for box, name in zip(found.xyxy, found.names, strict=True)
        if name == "person"
    ]
