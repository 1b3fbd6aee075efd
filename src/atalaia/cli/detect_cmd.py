"""`atalaia detect PATH`: run the object detector on one image or video file.

A quick way to see what a model finds before wiring it to cameras, and to check that a custom
ONNX export loads. Video frames go to the detector in batches, as the detector process does.
With `--save` on a video, the FIRST frame is written annotated: it is ready as soon as the
first batch is done and is the same frame on every run.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import cv2
import numpy as np
import typer
from numpy.typing import NDArray
from pydantic import ValidationError

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import DetectorError, build_detector, draw_detections
from atalaia.detect.detections import Detections

USAGE_ERROR_STATUS = 2


def detect(
    path: Annotated[Path, typer.Argument(help="Image or video file (anything OpenCV reads).")],
    model: Annotated[
        Path | None,
        typer.Option("--model", help="ONNX model file; default: the built-in YOLO11n."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Class names file (text, YAML or JSON) for --model."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", help="Model input size, 320..1280, a multiple of 32.")
    ] = 640,
    min_score: Annotated[float, typer.Option("--min-score", help="Minimum confidence.")] = 0.25,
    save: Annotated[
        Path | None,
        typer.Option("--save", help="Write the annotated image (first frame of a video) here."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per frame on standard output.")
    ] = False,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop a video after N frames.")
    ] = None,
) -> None:
    """Detect objects in an image or a video file and print what was found."""
    if not path.exists():
        _fail(f"{path}: no such file")
    if not path.is_file():
        _fail(f"{path}: not a file")
    try:
        config = OnnxDetectorConfig(
            model=model, labels=labels, input_size=size, min_score=min_score
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        _fail(f"invalid option {field}: {problem['msg']}")
    try:
        detector = build_detector(config)
    except DetectorError as exc:
        _fail(str(exc))

    frames = _read_frames(path, max_frames)
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    count = 0
    try:
        for batch in _batches(frames, config.batch_max):
            results = detector.detect(batch)
            for frame, found in zip(batch, results, strict=True):
                if save is not None and count == 0:
                    _save(save, draw_detections(frame, found))
                _report(count, frame, found, json_output)
                totals.update(found.names)
                count += 1
    except DetectorError as exc:
        _fail(f"{path}: {exc}")
    finally:
        detector.close()
    if count == 0:
        _fail(f"{path}: cannot read it as an image or a video")
    if not json_output:
        elapsed_ms = (time.perf_counter() - started) * 1000 / count
        summary = ", ".join(f"{n} {name}" for name, n in totals.most_common()) or "nothing"
        typer.echo(f"{count} frame(s), {elapsed_ms:.1f} ms per frame; found {summary}")


def _read_frames(path: Path, max_frames: int | None) -> Iterator[NDArray[np.uint8]]:
    """The image, or the video's frames, as BGR arrays; nothing if OpenCV cannot read it."""
    if cv2.haveImageReader(str(path)):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            yield np.asarray(image, dtype=np.uint8)
        return
    capture = cv2.VideoCapture(str(path))
    try:
        read = 0
        while capture.isOpened() and (max_frames is None or read < max_frames):
            ok, frame = capture.read()
            if not ok:
                break
            read += 1
            yield np.asarray(frame, dtype=np.uint8)
    finally:
        capture.release()


def _batches(frames: Iterator[NDArray[np.uint8]], size: int) -> Iterator[list[NDArray[np.uint8]]]:
    batch: list[NDArray[np.uint8]] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _report(index: int, frame: NDArray[np.uint8], found: Detections, as_json: bool) -> None:
    height, width = frame.shape[:2]
    if as_json:
        record: dict[str, Any] = {
            "frame": index,
            "width": width,
            "height": height,
            "detections": [_rounded(d) for d in found.to_dicts()],
        }
        typer.echo(json.dumps(record))
        return
    listed = ", ".join(
        f"{d.class_name} {d.confidence:.2f} at ({d.bbox.x:.0f},{d.bbox.y:.0f} "
        f"{d.bbox.width:.0f}x{d.bbox.height:.0f})"
        for d in found.to_list()
    )
    head = f"frame {index} ({width}x{height}): {len(found)} detection(s)"
    typer.echo(f"{head}: {listed}" if listed else head)


def _rounded(detection: dict[str, Any]) -> dict[str, Any]:
    detection["confidence"] = round(detection["confidence"], 4)
    detection["bbox"] = {k: round(v, 1) for k, v in detection["bbox"].items()}
    return detection


def _save(target: Path, image: NDArray[np.uint8]) -> None:
    try:
        written = cv2.imwrite(str(target), image)
    except cv2.error:
        written = False
    if not written:
        _fail(f"{target}: cannot write the annotated image (folder missing or unknown extension?)")


def _fail(message: str) -> NoReturn:
    """One line on standard error, exit status 2, no traceback."""
    typer.echo(f"atalaia detect: error: {message}", err=True)
    raise typer.Exit(USAGE_ERROR_STATUS)
