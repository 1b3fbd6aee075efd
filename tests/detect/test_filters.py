"""Class, per-class score and area filters, resolved against the model's classes."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import DetectionFilterConfig, OnnxDetectorConfig
from atalaia.detect import DetectionFilter, Detections, DetectorConfigError, build_detector

NAMES = ("person", "safety_vest", "dog")


def detections() -> Detections:
    return Detections(
        xyxy=np.array(
            [[0, 0, 10, 10], [0, 0, 100, 100], [0, 0, 50, 50], [0, 0, 40, 40]], np.float32
        ),
        confidence=np.array([0.9, 0.5, 0.7, 0.3], np.float32),
        class_id=np.array([0, 0, 1, 2], np.int32),
        class_names=NAMES,
    )


def test_filters_by_class_score_and_area() -> None:
    config = DetectionFilterConfig(
        classes=["person", "Safety Vest"], min_scores={"person": 0.6}, min_area=50
    )
    kept = DetectionFilter.from_config(config, NAMES).apply(detections())
    assert kept.confidence.tolist() == pytest.approx([0.9, 0.7])
    assert kept.names == ["person", "safety_vest"]
    config = DetectionFilterConfig(min_area=1000)
    assert len(DetectionFilter.from_config(config, NAMES).apply(detections())) == 3


def test_default_filter_passes_everything() -> None:
    flt = DetectionFilter.from_config(DetectionFilterConfig(), NAMES)
    assert flt.passes_everything
    assert len(flt.apply(detections())) == 4


def test_unknown_class_is_a_config_error_with_a_suggestion() -> None:
    with pytest.raises(DetectorConfigError, match=r"filters.classes: class 'persn'.*'person'"):
        DetectionFilter.from_config(DetectionFilterConfig(classes=["persn"]), NAMES)
    with pytest.raises(DetectorConfigError, match=r"filters.min_scores: class 'helmet'"):
        DetectionFilter.from_config(DetectionFilterConfig(min_scores={"helmet": 0.5}), NAMES)


def test_detector_applies_configured_filters(photo: NDArray[np.uint8]) -> None:
    detector = build_detector(
        OnnxDetectorConfig(
            filters=DetectionFilterConfig(classes=["dog", "bicycle"], min_area=12000)
        )
    )
    try:
        (found,) = detector.detect([photo])
    finally:
        detector.close()
    # the dog (43x75 px) and the right bicycle (68x153) are under 12000 px², the left
    # bicycle (100x157) is not; people are not among the classes kept
    assert found.names == ["bicycle"]
    assert found.area[0] >= 12000


def test_detector_refuses_filters_naming_absent_classes() -> None:
    with pytest.raises(DetectorConfigError, match="class 'helmet' is not one of the model's 80"):
        build_detector(OnnxDetectorConfig(filters=DetectionFilterConfig(classes=["helmet"])))
