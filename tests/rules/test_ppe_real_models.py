"""ppe_missing on real models' output: the built-in YOLO11n finds the persons, helmet-detector's
YOLOv12m (exported by `atalaia models export`) finds their heads as `With Helmet` /
`Without Helmet`, on the real photo shipped with YOLO11n (two cyclists walking their bikes).

The camera's `detect.classes: [person, car]` is the README's own example next to a PPE rule:
it narrows what the camera shows and reports (overlay, track table), never what the rule sees,
so the helmet boxes still reach the rule and only the bare-headed cyclist raises an alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.cameras import CameraConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.config.media import MediaConfig
from atalaia.detect import Detections, build_detector, merge_detections, sample_image
from atalaia.frames import FrameRing, new_run_id, ring_name
from atalaia.pipeline.camera_analytics import CameraAnalytics

PHOTO_SHAPE = (466, 700, 3)


@pytest.fixture(scope="module")
def photo() -> NDArray[np.uint8]:
    image = cv2.imread(str(sample_image()), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == PHOTO_SHAPE
    return np.asarray(image, dtype=np.uint8)


@pytest.fixture(scope="module")
def merged(photo: NDArray[np.uint8], helmet_onnx: Path) -> Detections:
    """One frame's answers of both real models, merged as the camera merges them."""
    answers = []
    for name, config in (
        ("default", OnnxDetectorConfig(concurrent_runs=1, latency_session=False)),
        ("ppe", OnnxDetectorConfig(model=helmet_onnx, concurrent_runs=1, latency_session=False)),
    ):
        detector = build_detector(config)
        try:
            (found,) = detector.detect([photo])
        finally:
            detector.close()
        answers.append((name, found))
    return merge_detections(answers)


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    ring = FrameRing.create(
        ring_name("floor", new_run_id()), "floor", slots=8, slot_bytes=int(np.prod(PHOTO_SHAPE))
    )
    yield ring
    ring.close()


def floor_camera(prompts_rule: dict[str, object] | None = None) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "floor",
            "source": "demo://people",
            "track": {"min_hits": 1},
            "detect": {"detectors": ["default", "ppe"], "classes": ["person", "car"]},
            "rules": [
                {"type": "ppe_missing", "required": ["helmet"], "frames": 3, **(prompts_rule or {})}
            ],
        }
    )


def persons(detections: Detections) -> list[tuple[float, float, float, float]]:
    return [
        tuple(map(float, box))
        for box, name, model in zip(
            detections.xyxy, detections.names, detections.models, strict=True
        )
        if name == "person" and model == "default"
    ]


def test_the_bare_headed_cyclist_raises_the_alert_despite_the_class_filter(
    ring: FrameRing,
    photo: NDArray[np.uint8],
    merged: Detections,
    tmp_path: Path,
) -> None:
    heads = {n for n, m in zip(merged.names, merged.models, strict=True) if m == "ppe"}
    assert heads == {"With Helmet", "Without Helmet"}  # what the real helmet model says
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text("[person, helmet]\n")
    analytics = CameraAnalytics(
        floor_camera(), ring, data_dir=tmp_path, media=MediaConfig(), prompts_path=str(prompts)
    )
    events = []
    for i in range(4):
        ref = ring.write(photo, 100.0 + i * 0.2)
        events += analytics.on_detections(ref, merged)
    assert analytics.problems == []
    assert [e.type for e in events] == ["new"]
    alert = events[0].after
    assert alert.extra == {"missing": ["helmet"]} and alert.label == "person"
    man = min(persons(merged), key=lambda box: box[0])  # the left one: bare-headed
    x, y, w, h = alert.box
    assert (x, y, x + w, y + h) == pytest.approx(man, abs=1.0)
    # What is shown and reported is what detect.classes keeps: persons only, no head boxes.
    assert {t.label for t in analytics.overlay().tracks} == {"person"}
    assert {t.label for t in analytics.stats().track_table} == {"person"}
    assert len(analytics.overlay().tracks) == 2


def test_persons_from_the_helmet_model_is_refused_by_name(
    ring: FrameRing, photo: NDArray[np.uint8], merged: Detections, tmp_path: Path
) -> None:
    analytics = CameraAnalytics(
        floor_camera({"persons_from": "ppe"}), ring, data_dir=tmp_path, media=MediaConfig()
    )
    analytics.on_detections(ring.write(photo, 100.0), merged)
    (problem,) = analytics.problems
    assert "rule 'ppe_missing' is off" in problem
    assert "persons_from: model 'ppe' has no class matching person" in problem
