"""RT-DETR checkpoints export their raw head (B x Q x (4 + C)), which the runtime decodes.

ultralytics' own ONNX export of RT-DETR ends in a top-k (B x K x 6: box, best score, class
index) that the runtime's `rtdetr` format does not read; the export keeps the head before it.
No RT-DETR weights ship in any package reachable here: the checkpoint is ultralytics' RT-DETR-l
architecture with fresh weights, saved as a trained one is; the test compares the exported
head with what ultralytics' own top-k makes of the same model's output on a real photo.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from atalaia.detect import sample_image

from .conftest import needs_export_extra, run_atalaia

SIZE = 320
NAMES = {0: "person", 1: "helmet", 2: "vest"}


def test_rtdetr_exports_its_raw_head(tmp_path: Path) -> None:
    needs_export_extra()
    torch = pytest.importorskip("torch")
    tasks = pytest.importorskip("ultralytics.nn.tasks")
    torch.manual_seed(0)
    model = tasks.RTDETRDetectionModel("rtdetr-l.yaml", nc=len(NAMES), verbose=False).eval()
    model.names = dict(NAMES)
    model.args = {"task": "detect", "imgsz": SIZE}
    checkpoint = tmp_path / "site-rtdetr.pt"
    torch.save({"model": model.half(), "ema": None, "train_args": {"task": "detect"}}, checkpoint)

    out = tmp_path / "rtdetr.onnx"
    done = run_atalaia("models", "export", str(checkpoint), "--size", str(SIZE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "rtdetr checkpoint, rtdetr head" in done.stdout
    report = json.loads(run_atalaia("models", "check", str(out), "--json").stdout)
    assert report["head_format"] == "rtdetr" and report["class_names"] == list(NAMES.values())

    image = cv2.resize(cv2.imread(str(sample_image())), (SIZE, SIZE))
    batch = np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1)[None], np.float32) / 255
    (head,) = ort.InferenceSession(str(out)).run(None, {"images": batch})
    assert head.shape == (1, 300, 4 + len(NAMES))
    with torch.no_grad():
        topk, _ = model.float()(torch.from_numpy(batch))  # ultralytics: (1, 300, 6) top-k
    reference = topk[0].numpy()
    # Every (query, class) pair ultralytics keeps is in the raw head with its box and score.
    scores = head[0, :, 4:]
    assert np.allclose(np.sort(scores.ravel())[::-1][:300], reference[:, 4], atol=1e-4)
    best = np.unravel_index(scores.argmax(), scores.shape)
    assert best[1] == int(reference[0, 5])
    assert np.allclose(head[0, best[0], :4], reference[0, :4], atol=1e-4)
