"""YOLO-World checkpoints: exported with their own vocabulary; `--prompts` only where the CLIP
text encoder can be loaded, and an honest refusal where it cannot (as on an offline machine).

No YOLO-World weights ship in any package reachable here, so the checkpoint is ultralytics' own
YOLOv8n-worldv2 architecture with fresh weights and a three-class vocabulary, saved the way a
trained one is: the export path (WorldModel, its text-feature head) is the real one; what the
model finds is not under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import needs_export_extra, run_atalaia

NAMES = {0: "person", 1: "hard hat", 2: "safety vest"}


@pytest.fixture(scope="module")
def world_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needs_export_extra()
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    torch.manual_seed(0)
    model = tasks.WorldModel("yolov8n-worldv2.yaml", nc=len(NAMES), verbose=False)
    model.names = dict(NAMES)
    model.args = {"task": "detect", "imgsz": 320}
    path = tmp_path_factory.mktemp("world") / "site-world.pt"
    torch.save({"model": model.half(), "ema": None, "train_args": {"task": "detect"}}, path)
    return path


def test_exports_with_its_own_vocabulary(world_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "world.onnx"
    done = run_atalaia(
        "models", "export", str(world_checkpoint), "--size", "320", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "yolo-world checkpoint, yolov8 head, input 320x320" in done.stdout
    checked = run_atalaia("models", "check", str(out), "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["class_names"] == list(NAMES.values())
    assert report["inputs"][0]["shape"] == ["batch", 3, 320, 320]


def test_prompts_without_a_text_encoder_are_refused_clearly(
    world_checkpoint: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text("person: [person]\nequipment:\n  helmet: [helmet]\n")
    out = tmp_path / "world.onnx"
    done = run_atalaia(
        "models", "export", str(world_checkpoint), "--prompts", str(prompts), "--out", str(out)
    )
    if done.returncode == 0:  # a machine with the CLIP encoder and its weights
        report = json.loads(run_atalaia("models", "check", str(out), "--json").stdout)
        assert report["class_names"] == ["person", "helmet"]
        return
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "CLIP text encoder" in line
    assert "(3 classes: person, hard hat, safety vest)" in line or "could not be loaded" in line
    assert not out.exists()
