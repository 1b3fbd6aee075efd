"""Tiny real ONNX models whose outputs the tests choose.

No YOLOv5 or RT-DETR model ships anywhere reachable, so these graphs stand in for them: each
takes an image batch like a real detector and returns fixed head values, broadcast over the
batch (output = constant + 0 * mean(image)), so ONNX Runtime really runs them, batch axis
and all, and the decoding downstream is the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def constant_head_model(
    path: Path,
    outputs: Sequence[tuple[str, NDArray[np.float32]]],
    input_shape: Sequence[int | str] = ("batch", 3, "height", "width"),
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a model whose outputs are the given (1, ...) arrays repeated for each image."""
    nodes = [
        helper.make_node(
            "ReduceMean", ["images"], ["image_mean"], axes=[1, 2, 3], keepdims=1, name="mean"
        ),
        helper.make_node("Mul", ["image_mean", "zero"], ["zero_per_image"], name="zero_out"),
    ]
    initializers = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    graph_outputs = []
    for name, value in outputs:
        const, shape_name, zero = f"{name}_value", f"{name}_rank", f"{name}_zero"
        initializers.append(numpy_helper.from_array(value.astype(np.float32), const))
        # (B,1,1,1) -> (B,1,...,1) of the head's rank, so it broadcasts against (1, ...).
        rank_shape = np.array([-1] + [1] * (value.ndim - 1), np.int64)
        initializers.append(numpy_helper.from_array(rank_shape, shape_name))
        nodes.append(helper.make_node("Reshape", ["zero_per_image", shape_name], [zero]))
        nodes.append(helper.make_node("Add", [const, zero], [name], name=f"add_{name}"))
        shape: list[int | str] = ["batch", *value.shape[1:]]
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "constant_head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        graph_outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolov5_head(
    input_size: int, num_classes: int, rows: dict[int, list[float]]
) -> NDArray[np.float32]:
    """(1, N, 5 + C) YOLOv5 output, N the anchor count at this size; `rows` sets some rows
    (cx, cy, w, h, objectness, class probabilities...), every other row is background."""
    n = 3 * sum((input_size // s) ** 2 for s in (8, 16, 32))
    head = np.zeros((1, n, 5 + num_classes), np.float32)
    head[0, :, 2:4] = 10.0
    for index, values in rows.items():
        head[0, index] = values
    return head


def rtdetr_head(
    queries: int, num_classes: int, rows: dict[int, list[float]]
) -> NDArray[np.float32]:
    """(1, Q, 4 + C) RT-DETR output: normalised cx, cy, w, h then class probabilities."""
    head = np.zeros((1, queries, 4 + num_classes), np.float32)
    head[0, :, 2:4] = 0.01
    for index, values in rows.items():
        head[0, index] = values
    return head
