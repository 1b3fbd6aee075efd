"""An out-of-tree detector plugin: the real ONNX detector, except that one model call hangs
for good once a marker file appears (as a wedged GPU driver or a deadlocked runtime leaves a
call). Registered when imported: the detector process imports this module when it unpickles
the config, so the plugin exists there too."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import Detections, build_detector
from atalaia.detect.protocol import DetectorInfo
from atalaia.detect.registry import register_detector


class HangingDetectorConfig(OnnxDetectorConfig):
    type: Literal["hangs_on_marker"] = "hangs_on_marker"  # type: ignore[assignment]
    marker: Path


@register_detector(HangingDetectorConfig)
class HangingDetector:
    """The built-in detector; the first call that finds the marker deletes it and never
    returns (the next process, started by the supervisor, finds no marker)."""

    def __init__(self, config: HangingDetectorConfig) -> None:
        self._marker = config.marker
        self._inner = build_detector(OnnxDetectorConfig(input_size=config.input_size))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._inner.class_names

    @property
    def info(self) -> DetectorInfo:
        return self._inner.info

    def detect(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        try:
            self._marker.unlink()
        except FileNotFoundError:
            return self._inner.detect(frames)
        threading.Event().wait()  # hung: only SIGKILL ends this call
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._inner.close()
