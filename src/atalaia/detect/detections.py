"""Detections of one frame: numpy arrays inside, one small object per detection at the edges.

The hot path (decode, filters, tracking, zones) works on whole arrays; building a Python object
per box there would cost more than the box maths itself. `Detection` objects and dicts are made
only where a person or another program reads them: the API, events, the CLI.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from atalaia.detect.errors import WireFormatError

# Wire header: magic, format version, number of landmarks per detection, number of detections.
_WIRE_HEADER = struct.Struct("<4sBxHI")
_WIRE_MAGIC = b"ATDT"
_WIRE_VERSION = 1


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """An axis-aligned box in pixels of the original frame: top-left corner plus size."""

    x: float
    y: float
    width: float
    height: float

    def to_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object, as the API, events and alerts describe it."""

    class_id: int
    class_name: str
    confidence: float
    bbox: BoundingBox
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "class_name": self.class_name,
            "confidence": self.confidence,
            "bbox": self.bbox.to_dict(),
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """All detections of one frame.

    `xyxy` is (N, 4) float32 corners in pixels of the original frame, `confidence` (N,)
    float32, `class_id` (N,) int32 indexing `class_names`, `landmarks` an optional (N, K, 2)
    float32 array of keypoints (the five face points of SCRFD). Plain arrays, so a
    `Detections` pickles small and fast; `to_wire` is smaller still, leaving the class table
    out because both ends already know it.
    """

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int32]
    class_names: tuple[str, ...]
    landmarks: NDArray[np.float32] | None = None
    # The model that produced each class of `class_names` (same length), when the detections
    # of several models were merged (`merge_detections`); None for one model's own output.
    class_models: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.confidence)
        if self.class_models is not None and len(self.class_models) != len(self.class_names):
            raise ValueError(
                f"class_models has {len(self.class_models)} entries for "
                f"{len(self.class_names)} classes"
            )
        if self.xyxy.shape != (n, 4) or self.class_id.shape != (n,):
            raise ValueError(
                f"inconsistent detections: xyxy {self.xyxy.shape}, confidence "
                f"{self.confidence.shape}, class_id {self.class_id.shape}"
            )
        if self.landmarks is not None and (
            self.landmarks.ndim != 3 or self.landmarks.shape[0] != n or self.landmarks.shape[2] != 2
        ):
            raise ValueError(f"landmarks must be (N, K, 2), got {self.landmarks.shape}")

    @classmethod
    def empty(cls, class_names: Sequence[str], num_landmarks: int = 0) -> Detections:
        landmarks = np.zeros((0, num_landmarks, 2), np.float32) if num_landmarks else None
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int32),
            class_names=tuple(class_names),
            landmarks=landmarks,
        )

    def __len__(self) -> int:
        return len(self.confidence)

    def __getitem__(
        self, index: NDArray[np.bool_] | NDArray[np.integer[Any]] | slice
    ) -> Detections:
        """The detections selected by a boolean mask, an index array or a slice."""
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            class_names=self.class_names,
            landmarks=None if self.landmarks is None else self.landmarks[index],
            class_models=self.class_models,
        )

    @property
    def area(self) -> NDArray[np.float32]:
        """Box areas in square pixels of the original frame."""
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.asarray(wh[:, 0] * wh[:, 1], dtype=np.float32)

    @property
    def names(self) -> list[str]:
        """The class name of each detection, in order."""
        return [self.class_names[i] for i in self.class_id.tolist()]

    @property
    def models(self) -> list[str | None]:
        """The model of each detection, in order (None where the detections were not merged)."""
        if self.class_models is None:
            return [None] * len(self)
        return [self.class_models[i] for i in self.class_id.tolist()]

    def to_list(self) -> list[Detection]:
        """One `Detection` per row, for the API and events (not for the hot path)."""
        out: list[Detection] = []
        boxes = self.xyxy.tolist()
        scores = self.confidence.tolist()
        ids = self.class_id.tolist()
        points = None if self.landmarks is None else self.landmarks.tolist()
        for row, ((x1, y1, x2, y2), score, cid) in enumerate(zip(boxes, scores, ids, strict=True)):
            metadata: dict[str, Any] = {} if points is None else {"landmarks": points[row]}
            if self.class_models is not None:
                metadata["model"] = self.class_models[cid]
            out.append(
                Detection(
                    class_id=cid,
                    class_name=self.class_names[cid],
                    confidence=score,
                    bbox=BoundingBox(x=x1, y=y1, width=x2 - x1, height=y2 - y1),
                    metadata=metadata,
                )
            )
        return out

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready dicts, one per detection."""
        return [d.to_dict() for d in self.to_list()]

    def to_wire(self) -> bytes:
        """A compact binary message: a 12-byte header then the raw little-endian arrays."""
        n = len(self)
        k = 0 if self.landmarks is None else self.landmarks.shape[1]
        parts = [
            _WIRE_HEADER.pack(_WIRE_MAGIC, _WIRE_VERSION, k, n),
            np.ascontiguousarray(self.xyxy, "<f4").tobytes(),
            np.ascontiguousarray(self.confidence, "<f4").tobytes(),
            np.ascontiguousarray(self.class_id, "<i4").tobytes(),
        ]
        if self.landmarks is not None:
            parts.append(np.ascontiguousarray(self.landmarks, "<f4").tobytes())
        return b"".join(parts)

    @classmethod
    def from_wire(cls, data: bytes | memoryview, class_names: Sequence[str]) -> Detections:
        """Rebuild detections sent by `to_wire`; `class_names` is the sender's class table."""
        buffer = memoryview(data)
        if len(buffer) < _WIRE_HEADER.size:
            raise WireFormatError(f"detections message too short ({len(buffer)} bytes)")
        magic, version, k, n = _WIRE_HEADER.unpack_from(buffer)
        if magic != _WIRE_MAGIC or version != _WIRE_VERSION:
            raise WireFormatError(f"not a detections message (magic {magic!r}, version {version})")
        expected = _WIRE_HEADER.size + n * (4 * 4 + 4 + 4 + k * 2 * 4)
        if len(buffer) != expected:
            raise WireFormatError(f"detections message is {len(buffer)} bytes, expected {expected}")
        offset = _WIRE_HEADER.size

        def take(dtype: str, count: int) -> NDArray[Any]:
            nonlocal offset
            array = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
            offset += array.nbytes
            return array.astype(dtype[1:], copy=True)

        xyxy = take("<f4", n * 4).reshape(n, 4)
        confidence = take("<f4", n)
        class_id = take("<i4", n)
        landmarks = take("<f4", n * k * 2).reshape(n, k, 2) if k else None
        if n and (class_id.min() < 0 or class_id.max() >= len(class_names)):
            raise WireFormatError(
                f"class id {int(class_id.max())} outside the class table of {len(class_names)}"
            )
        return cls(xyxy, confidence, class_id, tuple(class_names), landmarks)


def merge_detections(parts: Sequence[tuple[str, Detections]]) -> Detections:
    """One frame's detections from several models, as one `Detections`.

    The class tables are concatenated in the order of `parts` and each model's class ids are
    offset by the classes before it, so a class id still names exactly one (model, class)
    pair: tracking, zones and rules keep working on plain arrays, and `class_models` tells
    which model each class (and so each detection) came from. Two models that both know
    "person" keep two distinct class ids; name lookups (`PpeClassIds`, rule labels) collect
    every id with that name unless they ask for one model. Landmarks survive only when every
    part has the same number of them.
    """
    if not parts:
        raise ValueError("merge_detections needs at least one model's detections")
    names: list[str] = []
    models: list[str] = []
    ids: list[NDArray[np.int32]] = []
    for model, dets in parts:
        ids.append(dets.class_id.astype(np.int32) + np.int32(len(names)))
        names.extend(dets.class_names)
        if dets.class_models is None:
            models.extend([model] * len(dets.class_names))
        else:
            models.extend(dets.class_models)
    k = {None if d.landmarks is None else d.landmarks.shape[1] for _, d in parts}
    landmarks = None
    if len(k) == 1 and None not in k:
        landmarks = np.concatenate([d.landmarks for _, d in parts if d.landmarks is not None])
    return Detections(
        xyxy=np.concatenate([d.xyxy for _, d in parts]).astype(np.float32, copy=False),
        confidence=np.concatenate([d.confidence for _, d in parts]).astype(np.float32, copy=False),
        class_id=np.concatenate(ids),
        class_names=tuple(names),
        landmarks=landmarks,
        class_models=tuple(models),
    )
