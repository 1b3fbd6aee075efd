"""A tiny ONNX model that turns letterboxed uint8 pixels into a model's input, written by hand.

`(pixels - mean) * scale`, in float32 (then float16 for a half-precision model): run by the
same provider as the model, on a GPU it lets the batch cross to the device as bytes, a quarter
of float32's (`atalaia.detect.pixel_upload`). The runtime has no `onnx` package (it is only
in the `export` extra), and the graph is four nodes, so its protobuf is encoded here directly;
tests check it with `onnx.checker` and against numpy.

Protobuf wire format: each field is a key (field number << 3 | wire type) then a varint
(type 0) or a length-prefixed payload (type 2). Field numbers are onnx.proto's.
"""

from __future__ import annotations

import struct

# TensorProto.DataType
FLOAT, UINT8, FLOAT16 = 1, 2, 10
OPSET = 17
IR_VERSION = 8  # the oldest IR that opset 17 may be used with
PIXELS_INPUT = "pixels"
MODEL_INPUT = "model_input"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _tensor_value(name: str, elem_type: int) -> bytes:
    """ValueInfoProto of an N x 3 x H x W tensor with named (dynamic) N, H and W."""
    dims = b"".join(
        _bytes(1, _bytes(2, axis) if isinstance(axis, str) else _int(1, axis))
        for axis in ("batch", 3, "height", "width")
    )
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _scalar(name: str, value: float) -> bytes:
    """TensorProto: a float32 scalar initializer."""
    return _int(2, FLOAT) + _bytes(8, name) + _bytes(9, struct.pack("<f", value))


def _node(op: str, inputs: list[str], output: str, to: int | None = None) -> bytes:
    body = b"".join(_bytes(1, name) for name in inputs) + _bytes(2, output)
    body += _bytes(3, f"{op.lower()}_{output}") + _bytes(4, op)
    if to is not None:  # AttributeProto: name "to", i, type INT (2)
        body += _bytes(5, _bytes(1, "to") + _int(3, to) + _int(20, 2))
    return body


def pixel_graph(mean: float, scale: float, float16: bool) -> bytes:
    """The serialized ModelProto: uint8 `pixels` -> float `model_input` (N x 3 x H x W)."""
    nodes = [
        _node("Cast", [PIXELS_INPUT], "as_float", to=FLOAT),
        _node("Mul", ["as_float", "scale"], "scaled"),
        _node("Add", ["scaled", "offset"], "shifted" if float16 else MODEL_INPUT),
    ]
    if float16:
        nodes.append(_node("Cast", ["shifted"], MODEL_INPUT, to=FLOAT16))
    graph = b"".join(_bytes(1, node) for node in nodes)
    graph += _bytes(2, "atalaia_pixels")
    graph += _bytes(5, _scalar("scale", scale)) + _bytes(5, _scalar("offset", -mean * scale))
    graph += _bytes(11, _tensor_value(PIXELS_INPUT, UINT8))
    graph += _bytes(12, _tensor_value(MODEL_INPUT, FLOAT16 if float16 else FLOAT))
    opset = _bytes(1, "") + _int(2, OPSET)
    return _int(1, IR_VERSION) + _bytes(2, "atalaia") + _bytes(7, graph) + _bytes(8, opset)
