"""Which detection head a model has, recognised from its output shapes.

Exports rarely say what they are, but their outputs do:

- YOLOv8 / YOLO11: one output B x (4 + C) x N (N anchors, many more than 4 + C rows);
  some exports transpose it to B x N x (4 + C), recognised by N being the anchor count.
- YOLOv5: one output B x N x (5 + C), N = 3 anchors x every cell of the three strides
  (that count is what tells it from an RT-DETR head of the same width).
- RT-DETR: one output B x Q x (4 + C) (Q queries, typically 300, boxes normalised cxcywh),
  or two outputs B x Q x 4 (boxes) and B x Q x C (scores).

When the class count is known (labels file or model metadata) it is checked against the head.
A model the rules cannot place is refused with its output shapes in the message rather than
decoded into nonsense; `model_format` settles the rare head the rules misplace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from atalaia.detect.errors import ModelLoadError

ModelFormat = Literal["yolov8", "yolov5", "rtdetr"]
DeclaredFormat = Literal["auto", "yolov8", "yolov5", "rtdetr"]

_STRIDES = (8, 16, 32)
YOLO_STRIDE = max(_STRIDES)
"""A YOLO head's input height and width must be multiples of its largest stride."""
_SUPPORTED = (
    "supported: yolov8/yolo11 1x(4+C)xN, yolov5 1xNx(5+C), "
    "rtdetr 1xQx(4+C) or two outputs 1xQx4 + 1xQxC"
)


@dataclass(frozen=True, slots=True)
class OutputLayout:
    """How to read a model's outputs."""

    format: ModelFormat
    num_classes: int
    boxes_output: int
    scores_output: int | None = None
    transposed: bool = False  # yolov8 head stored as N x (4 + C)


def anchor_count(input_height: int, input_width: int, anchors_per_cell: int) -> int:
    """Number of prediction cells of a stride-8/16/32 YOLO head for this input size."""
    cells = sum((input_height // s) * (input_width // s) for s in _STRIDES)
    return cells * anchors_per_cell


def infer_layout(
    output_shapes: Sequence[tuple[int, ...]],
    output_names: Sequence[str],
    declared: DeclaredFormat,
    num_names: int | None,
    input_hw: tuple[int, int],
    model_label: str,
) -> OutputLayout:
    """Work out the layout from concrete output shapes of a batch-1 run.

    Raises `ModelLoadError` naming the model and its outputs when nothing fits, when the
    declared format contradicts the shapes, or when the class count disagrees with the names.
    """
    described = ", ".join(
        f"{n} {list(s)}" for n, s in zip(output_names, output_shapes, strict=True)
    )
    if any(len(s) != 3 for s in output_shapes):
        raise ModelLoadError(f"model {model_label}: unexpected outputs ({described}); {_SUPPORTED}")
    if len(output_shapes) == 1:
        layout = _single_output_layout(output_shapes[0], declared, num_names, input_hw)
    elif len(output_shapes) == 2 and declared in ("auto", "rtdetr"):
        layout = _two_output_layout(output_shapes, output_names)
    else:
        layout = None
    if layout is None:
        raise ModelLoadError(
            f"model {model_label}: outputs ({described}) do not fit model_format "
            f"'{declared}'; {_SUPPORTED}"
        )
    if layout.num_classes < 1:
        raise ModelLoadError(f"model {model_label}: outputs ({described}) leave no class scores")
    if num_names is not None and layout.num_classes != num_names:
        raise ModelLoadError(
            f"model {model_label}: its {layout.format} head predicts {layout.num_classes} "
            f"classes but {num_names} class names were given"
        )
    return layout


def _single_output_layout(
    shape: tuple[int, ...],
    declared: DeclaredFormat,
    num_names: int | None,
    input_hw: tuple[int, int],
) -> OutputLayout | None:
    rows, cols = shape[1], shape[2]
    if rows < cols:  # channels first: only the YOLOv8 head is stored this way
        if declared in ("auto", "yolov8") and rows > 4:
            return OutputLayout("yolov8", rows - 4, 0)
        return None
    yolov5 = OutputLayout("yolov5", cols - 5, 0)
    rtdetr = OutputLayout("rtdetr", cols - 4, 0)
    yolov8_t = OutputLayout("yolov8", cols - 4, 0, transposed=True)
    if declared == "yolov5":
        return yolov5
    if declared == "rtdetr":
        return rtdetr
    if declared == "yolov8":
        return yolov8_t
    if rows == anchor_count(*input_hw, anchors_per_cell=1):
        return yolov8_t
    if rows == anchor_count(*input_hw, anchors_per_cell=3):
        return yolov5
    return rtdetr


def _two_output_layout(
    shapes: Sequence[tuple[int, ...]], names: Sequence[str]
) -> OutputLayout | None:
    (_, q0, c0), (_, q1, c1) = shapes[0], shapes[1]
    if q0 != q1:
        return None
    if c0 == 4 and c1 != 4:
        boxes = 0
    elif c1 == 4 and c0 != 4:
        boxes = 1
    elif c0 == 4 and c1 == 4:
        boxes = 1 if "box" in names[1].lower() and "box" not in names[0].lower() else 0
    else:
        return None
    scores = 1 - boxes
    return OutputLayout("rtdetr", shapes[scores][2], boxes, scores_output=scores)
