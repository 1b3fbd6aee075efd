"""`ShownClasses`: a camera's `detect.classes` over a merged class table of two models."""

from __future__ import annotations

import logging

import pytest

from atalaia.detect import Detections, merge_detections
from atalaia.detect.filters import ShownClasses
from tests.track.support import dets

GENERAL = ("person", "bicycle", "car")
PPE = ("Person", "Hardhat", "NO-Hardhat")


def frame() -> Detections:
    boxes = [(0.0, 0.0, 10.0, 10.0)] * 3
    return merge_detections(
        [
            ("default", dets(boxes, labels=["person", "car", "bicycle"], classes=GENERAL)),
            ("ppe", dets(boxes, labels=["Person", "Hardhat", "NO-Hardhat"], classes=PPE)),
        ]
    )


def test_a_name_selects_its_classes_in_every_model() -> None:
    shown = ShownClasses(["person", "car"]).apply(frame())
    assert shown.names == ["person", "car", "Person"]
    assert shown.models == ["default", "default", "ppe"]


def test_no_selection_shows_everything() -> None:
    detections = frame()
    assert ShownClasses(None).apply(detections) is detections
    assert ShownClasses(None).shows(4, detections.class_names)


def test_an_unknown_name_is_reported_once_per_class_table(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown = ShownClasses(["person", "helmet"], "camera floor")
    with caplog.at_level(logging.WARNING):
        shown.apply(frame())
        shown.apply(frame())
    assert shown.unknown == ("helmet",)
    (record,) = caplog.records
    assert record.getMessage() == (
        "detect.classes of camera floor: 'helmet' matches no class of its models; never shown"
    )
    names = frame().class_names
    assert shown.shows(0, names) and not shown.shows(4, names) and not shown.shows(99, names)
