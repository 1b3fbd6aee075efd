"""Class names from files and metadata; head layouts from output shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.detect import ModelLoadError
from atalaia.detect.formats import anchor_count, infer_layout
from atalaia.detect.labels import load_labels, names_from_metadata


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("labels.txt", "person\n\nsafety vest \nhelmet\n"),
        ("labels.yaml", "- person\n- safety vest\n- helmet\n"),
        ("labels.yml", "names:\n  0: person\n  1: safety vest\n  2: helmet\n"),
        ("labels.json", '{"2": "helmet", "0": "person", "1": "safety vest"}'),
    ],
)
def test_labels_file_formats(tmp_path: Path, filename: str, content: str) -> None:
    path = tmp_path / filename
    path.write_text(content)
    assert load_labels(path) == ("person", "safety vest", "helmet")


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("gaps.yaml", "{0: a, 2: c}\n", "mapping 0..C-1"),
        ("broken.yaml", "[a, b\n", "not valid YAML"),
        ("empty.txt", "\n\n", "holds no class names"),
    ],
)
def test_bad_labels_files(tmp_path: Path, filename: str, content: str, expected: str) -> None:
    path = tmp_path / filename
    path.write_text(content)
    with pytest.raises(ModelLoadError, match=expected) as caught:
        load_labels(path)
    assert filename in str(caught.value)


def test_names_from_ultralytics_and_json_metadata() -> None:
    assert names_from_metadata({"names": "{0: 'person', 1: 'car'}"}) == ("person", "car")
    assert names_from_metadata({"names": '["person", "car"]'}) == ("person", "car")
    assert names_from_metadata({"names": "not a literal {"}) is None
    assert names_from_metadata({}) is None


def test_yolo_anchor_counts() -> None:
    assert anchor_count(640, 640, 1) == 8400
    assert anchor_count(640, 640, 3) == 25200


@pytest.mark.parametrize(
    ("shapes", "names", "expected"),
    [
        ([(1, 84, 8400)], None, ("yolov8", 80, False)),
        ([(1, 8400, 84)], None, ("yolov8", 80, True)),
        ([(1, 25200, 85)], None, ("yolov5", 80, False)),
        ([(1, 300, 84)], 80, ("rtdetr", 80, False)),
        ([(1, 300, 4), (1, 300, 80)], None, ("rtdetr", 80, False)),
        ([(1, 300, 80), (1, 300, 4)], None, ("rtdetr", 80, False)),
    ],
)
def test_layouts_from_shapes(
    shapes: list[tuple[int, ...]], names: int | None, expected: tuple[str, int, bool]
) -> None:
    output_names = [f"o{i}" for i in range(len(shapes))]
    layout = infer_layout(shapes, output_names, "auto", names, (640, 640), "m.onnx")
    assert (layout.format, layout.num_classes, layout.transposed) == expected
    if len(shapes) == 2:
        assert shapes[layout.boxes_output][2] == 4


def test_two_four_wide_outputs_are_told_apart_by_name() -> None:
    layout = infer_layout(
        [(1, 300, 4), (1, 300, 4)], ["scores", "pred_boxes"], "auto", None, (640, 640), "m"
    )
    assert (layout.boxes_output, layout.scores_output) == (1, 0)


def test_unplaceable_shapes_name_the_model_and_outputs() -> None:
    with pytest.raises(
        ModelLoadError, match=r"model m\.onnx: outputs \(a \[1, 300, 4\], b \[1, 200, 80\]\)"
    ):
        infer_layout([(1, 300, 4), (1, 200, 80)], ["a", "b"], "auto", None, (640, 640), "m.onnx")
