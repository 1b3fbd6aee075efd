"""The runtime never imports torch or ultralytics: they are the `export` extra's, not the
service's (start-up time, memory, and an AGPL-3.0 library the service does not need).

A fresh interpreter records every import of either package through a meta-path finder placed
first, so the check means the same whether or not the extra is installed here: an attempt is
caught even when it would fail.
"""

from __future__ import annotations

import subprocess
import sys

RECORDER = """
import sys

class Recorder:
    seen = []
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "ultralytics", "torchvision"):
            Recorder.seen.append(name)
        return None

sys.meta_path.insert(0, Recorder())
"""

RUNTIME = """
import numpy as np
import atalaia.cli.main
import atalaia.service.server
import atalaia.pipeline.detector_worker
import atalaia.pipeline.camera_worker
import atalaia.detect.inspect
import atalaia.export
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, sample_image
import cv2

detector = build_detector(OnnxDetectorConfig(latency_session=False, concurrent_runs=1))
(found,) = detector.detect([cv2.imread(str(sample_image()))])
detector.close()
assert len(found) > 0
print("imported:", sorted(set(Recorder.seen)))
"""


def test_runtime_imports_neither_torch_nor_ultralytics() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RECORDER + RUNTIME], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "imported: []"


def test_the_recorder_sees_an_import_attempt() -> None:
    """The same recorder catches an import of torch, installed or not."""
    probe = "try:\n    import torch\nexcept ImportError:\n    pass\nprint(sorted(Recorder.seen))\n"
    done = subprocess.run(
        [sys.executable, "-c", RECORDER + probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("['torch'")
