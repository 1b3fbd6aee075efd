"""`atalaia models check` on real models (the built-in YOLO11n, tiny heads), bad files, and
`atalaia models export` without the `export` extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from tests.detect.tiny_models import constant_head_model, rtdetr_head, yolov5_head
from typer.testing import CliRunner

from atalaia.cli.main import app
from atalaia.detect import default_object_model, sample_image

runner = CliRunner()
YOLO11N = default_object_model().model


def check(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["models", "check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_builtin_yolo11n_with_photo() -> None:
    code, out, err = check(str(YOLO11N), str(sample_image()))
    assert code == 0, err
    lines = out.splitlines()
    assert "input: images float32 [batch, 3, height, width]" in lines
    assert "output: output0 float32 [batch, 84, anchors]" in lines
    assert "head: yolov8, 80 classes, input 640x640, batch dynamic" in lines
    assert "providers: CPUExecutionProvider" in lines
    classes = next(line for line in lines if line.startswith("classes "))
    assert classes.startswith("classes (80, from model metadata): person, bicycle, car,")
    assert any(line.startswith("metadata license: AGPL-3.0") for line in lines)
    photo = lines.index(f"{sample_image()} (700x466): 5 detection(s)")
    found = sorted(line.split()[0] for line in lines[photo + 1 :])
    assert found == ["bicycle", "bicycle", "dog", "person", "person"]


def test_json_report_with_prompts_and_size(tmp_path: Path) -> None:
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text(
        "person: [person]\nequipment:\n  helmet: [helmet, hardhat]\n  bag: [backpack, handbag]\n"
    )
    code, out, err = check(
        str(YOLO11N), str(sample_image()), "--json", "--size", "416", "--prompts", str(prompts)
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["usable"] is True and report["problem"] is None
    assert report["head_format"] == "yolov8" and report["num_classes"] == 80
    assert (report["input_width"], report["input_height"]) == (416, 416)
    assert report["inputs"] == [
        {"name": "images", "shape": ["batch", 3, "height", "width"], "dtype": "float32"}
    ]
    assert report["names_source"] == "model metadata"
    assert report["prompts"] == {"person": ["person"], "helmet": [], "bag": ["backpack", "handbag"]}
    image = report["image"]
    assert (image["width"], image["height"]) == (700, 466)
    assert sorted(d["class_name"] for d in image["detections"]) == [
        "bicycle",
        "bicycle",
        "dog",
        "person",
        "person",
    ]


def test_prompts_without_a_match_are_shown(tmp_path: Path) -> None:
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text("equipment:\n  vest: [safety vest]\nmissing:\n  vest: [no-safety vest]\n")
    code, out, _ = check(str(YOLO11N), "--prompts", str(prompts))
    assert code == 0
    assert "prompts person: person" in out.splitlines()
    assert "prompts vest: NO MATCHING CLASS" in out.splitlines()
    assert "prompts missing vest: NO MATCHING CLASS" in out.splitlines()


def test_yolov5_head_with_labels_file(tmp_path: Path) -> None:
    head = yolov5_head(320, 3, {10: [160, 160, 80, 40, 0.9, 0.1, 0.8, 0.1]})
    model = constant_head_model(tmp_path / "v5.onnx", [("output", head)])
    labels = tmp_path / "names.txt"
    labels.write_text("helmet\nperson\nvest\n")
    code, out, err = check(
        str(model), str(sample_image()), "--size", "320", "--labels", str(labels)
    )
    assert code == 0, err
    assert "head: yolov5, 3 classes, input 320x320, batch dynamic" in out
    assert f"classes (3, from labels file {labels}): helmet, person, vest" in out
    assert "1 detection(s)" in out and "  person 0.72 at" in out


def test_rtdetr_head_with_names_in_metadata(tmp_path: Path) -> None:
    head = rtdetr_head(300, 2, {0: [0.5, 0.5, 0.2, 0.2, 0.1, 0.9]})
    model = constant_head_model(
        tmp_path / "detr.onnx",
        [("logits", head)],
        input_shape=(1, 3, 640, 640),
        metadata={"names": "{0: 'helmet', 1: 'head'}", "license": "Apache-2.0"},
    )
    code, out, err = check(str(model), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["head_format"] == "rtdetr" and report["model_batch"] == 1
    assert report["class_names"] == ["helmet", "head"]
    assert report["metadata"] == {"license": "Apache-2.0"}


def test_model_without_names_is_usable_with_index_names(tmp_path: Path) -> None:
    head = np.zeros((1, 6, 2100), np.float32)
    model = constant_head_model(tmp_path / "anon.onnx", [("output0", head)])
    code, out, _ = check(str(model), "--size", "320")
    assert code == 0
    assert "classes (2, from none: named class_0.. by index): class_0, class_1" in out


def two_input_model(path: Path) -> Path:
    """A real graph with a second input (`orig_target_sizes` style), which the detector refuses."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["images"], ["out"], axes=[2, 3], keepdims=0)],
        "two_inputs",
        [
            helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 640, 640]),
            helper.make_tensor_value_info("sizes", TensorProto.INT64, ["batch", 2]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_unusable_model_lists_its_graph_then_fails(tmp_path: Path) -> None:
    model = two_input_model(tmp_path / "two.onnx")
    code, out, err = check(str(model))
    assert code == 2
    assert "input: images float32 [batch, 3, 640, 640]" in out
    assert "input: sizes int64 [batch, 2]" in out
    assert "head: not usable (see the error below)" in out
    (line,) = err.strip().splitlines()
    assert line.startswith(f"atalaia models check: error: {model}: atalaia cannot run this model")
    assert "expected one image input, found 2" in line


def test_unrecognised_head_fails_naming_the_outputs(tmp_path: Path) -> None:
    model = constant_head_model(tmp_path / "odd.onnx", [("scores", np.zeros((1, 7), np.float32))])
    code, out, err = check(str(model), "--json")
    assert code == 2
    assert json.loads(out)["usable"] is False
    assert "unexpected outputs (scores [2, 7])" in err  # warmed up on a batch of 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["/no/such/model.onnx"], "model file not found: /no/such/model.onnx"),
        (["{tmp}/notes.txt"], "cannot load {tmp}/notes.txt as an ONNX model"),
        (["{model}", "/no/photo.jpg"], "/no/photo.jpg: no such image file"),
        (["{model}", "{tmp}/notes.txt"], "{tmp}/notes.txt: cannot read it as an image"),
        (["{model}", "--size", "500"], "--size 500: expected 320..1280, a multiple of 32"),
        (["{model}", "--provider", "tpu"], "--provider tpu: expected one of cpu, cuda"),
        (["{model}", "--prompts", "{tmp}/none.yaml"], "prompts file not found"),
    ],
)
def test_failures_are_one_line_and_status_2(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "notes.txt").write_text("not a model, not a picture\n")
    filled = [a.format(tmp=tmp_path, model=YOLO11N) for a in args]
    code, _, err = check(*filled)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atalaia models check: error: "), err
    assert expected.format(tmp=tmp_path) in lines[0]


def test_export_without_the_extra_names_it(tmp_path: Path) -> None:
    """Runs the real command in a fresh interpreter where ultralytics cannot be imported (a
    `None` entry in `sys.modules` is how Python marks a module as unavailable), so the result
    is the same whether or not this environment has the extra."""
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"any checkpoint")
    script = (
        "import sys; sys.modules['ultralytics'] = None\n"
        "from atalaia.cli.main import main\n"
        f"sys.argv = ['atalaia', 'models', 'export', {str(checkpoint)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("atalaia models export: error: exporting checkpoints needs the")
    assert "pip install 'atalaia[export]'" in line and "AGPL-3.0" in line
    assert "ultralytics-opencv-headless (" in line
    assert not (tmp_path / "best.onnx").exists()


def test_export_refuses_a_missing_checkpoint_and_a_bad_size(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "export", str(tmp_path / "none.pt")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'none.pt'}: no such file" in result.stderr
    result = runner.invoke(app, ["models", "export", str(tmp_path / "none.pt"), "--size", "650"])
    assert result.exit_code == 2 and "--size 650: expected" in result.stderr


def test_models_help() -> None:
    for command in (["models"], ["models", "check"], ["models", "export"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
