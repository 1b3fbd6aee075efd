"""`atalaia models check|export`: bringing one's own model.

`check` answers "will atalaia run this file, and what will it see?" before a camera depends on
it: the graph's inputs and outputs, the head format the decoder recognised, the class names and
where they came from, the providers, how a prompts file maps onto the classes, and detections on
a photo. `export` turns an ultralytics checkpoint into such a file; it needs the optional
`export` extra (torch + ultralytics), imported only when the command runs.

Both fail with one line on standard error and exit status 2, as `atalaia detect` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import cv2
import numpy as np
import typer

from atalaia.config.detectors import ProviderName
from atalaia.detect.detections import Detections
from atalaia.detect.errors import DetectorError
from atalaia.detect.inspect import ModelReport, match_prompts, open_for_check
from atalaia.detect.ppe import load_prompts

USAGE_ERROR_STATUS = 2
_SIZES = "320..1280, a multiple of 32"

models_app = typer.Typer(
    help="Check ONNX models and export ultralytics checkpoints to ONNX.", no_args_is_help=True
)


@models_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="ONNX model file.")],
    image: Annotated[
        Path | None, typer.Argument(help="Optional photo to run the model on.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Class names file (text, YAML or JSON) for the model."),
    ] = None,
    prompts: Annotated[
        Path | None,
        typer.Option("--prompts", help="PPE prompts file: show which classes each role matches."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", help=f"Input size for dynamic models, {_SIZES}.")
    ] = 640,
    min_score: Annotated[
        float, typer.Option("--min-score", min=0.0, max=1.0, help="Minimum confidence.")
    ] = 0.25,
    providers: Annotated[
        list[str] | None,
        typer.Option("--provider", help="cpu, cuda, tensorrt or openvino; repeatable."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object on standard output.")
    ] = False,
) -> None:
    """Say what FILE is and whether atalaia can run it; with IMAGE, what it finds there."""
    _check_size(size, "check")
    chosen = _providers(providers)
    if image is not None and not image.is_file():
        _fail("check", f"{image}: no such image file")
    try:
        report, detector = open_for_check(file, labels, size, chosen, min_score)
    except DetectorError as exc:
        _fail("check", str(exc))
    roles: dict[str, list[str]] | None = None
    found: Detections | None = None
    frame_hw: tuple[int, int] | None = None
    try:
        if prompts is not None and report.class_names:
            roles = match_prompts(load_prompts(prompts), report.class_names)
        if detector is not None and image is not None:
            frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
            if frame is None:
                _fail("check", f"{image}: cannot read it as an image")
            frame_hw = (int(frame.shape[0]), int(frame.shape[1]))
            found = detector.detect([np.asarray(frame, dtype=np.uint8)])[0]
    except DetectorError as exc:
        _fail("check", str(exc))
    finally:
        if detector is not None:
            detector.close()
    if json_output:
        typer.echo(json.dumps(_as_json(report, roles, image, frame_hw, found)))
    else:
        typer.echo(_as_text(report, roles, image, frame_hw, found))
    if not report.usable:
        _fail("check", f"{file}: atalaia cannot run this model: {report.problem}")


@models_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="ultralytics checkpoint (.pt).")],
    prompts: Annotated[
        Path | None,
        typer.Option(
            "--prompts",
            help="YOLO-World only: vocabulary from a PPE prompts file or a labels file.",
        ),
    ] = None,
    size: Annotated[int, typer.Option("--size", help=f"Input size, {_SIZES}.")] = 640,
    out: Annotated[
        Path | None, typer.Option("--out", help="ONNX file to write; default FILE with .onnx.")
    ] = None,
) -> None:
    """Export an ultralytics detection checkpoint to ONNX, class names in its metadata."""
    _check_size(size, "export")
    # Imported here: the export package is light, but nothing of it belongs in other commands.
    from atalaia.export.errors import ExportError
    from atalaia.export.ultralytics_export import export_checkpoint

    target = out if out is not None else file.with_suffix(".onnx")
    if target.resolve() == file.resolve():
        _fail("export", f"--out {target} would overwrite the checkpoint")
    try:
        result = export_checkpoint(file, target, size, prompts, progress=typer.echo)
    except ExportError as exc:
        _fail("export", str(exc))
    names = ", ".join(result.class_names)
    typer.echo(
        f"wrote {result.path} in {result.seconds:.1f} s: {result.family} checkpoint, "
        f"{result.head_format} head, input {size}x{size}, dynamic batch, "
        f"{len(result.class_names)} classes ({names})"
    )
    typer.echo(f"check it: atalaia models check {result.path} PHOTO")


def _as_text(
    report: ModelReport,
    roles: dict[str, list[str]] | None,
    image: Path | None,
    frame_hw: tuple[int, int] | None,
    found: Detections | None,
) -> str:
    lines = [f"model: {report.path}"]
    lines += [f"input: {spec.describe()}" for spec in report.inputs]
    lines += [f"output: {spec.describe()}" for spec in report.outputs]
    lines.append(f"precision: {report.precision}")
    if report.usable:
        batch = "dynamic" if report.model_batch is None else str(report.model_batch)
        lines.append(
            f"head: {report.head_format}, {report.num_classes} classes, input "
            f"{report.input_width}x{report.input_height}, batch {batch}"
        )
        lines.append(f"providers: {', '.join(report.providers)}")
    else:
        lines.append("head: not usable (see the error below)")
    if report.class_names:
        lines.append(
            f"classes ({len(report.class_names)}, from {report.names_source}): "
            + ", ".join(report.class_names)
        )
    else:
        lines.append(f"classes: {report.names_source}")
    lines += [f"metadata {key}: {value}" for key, value in report.metadata.items()]
    for role, classes in (roles or {}).items():
        lines.append(f"prompts {role}: {', '.join(classes) if classes else 'NO MATCHING CLASS'}")
    if image is not None and found is not None and frame_hw is not None:
        listed = [
            f"  {d.class_name} {d.confidence:.2f} at ({d.bbox.x:.0f},{d.bbox.y:.0f} "
            f"{d.bbox.width:.0f}x{d.bbox.height:.0f})"
            for d in found.to_list()
        ]
        lines.append(f"{image} ({frame_hw[1]}x{frame_hw[0]}): {len(found)} detection(s)")
        lines += listed
    return "\n".join(lines)


def _as_json(
    report: ModelReport,
    roles: dict[str, list[str]] | None,
    image: Path | None,
    frame_hw: tuple[int, int] | None,
    found: Detections | None,
) -> dict[str, Any]:
    data = report.to_dict()
    if roles is not None:
        data["prompts"] = roles
    if image is not None and found is not None and frame_hw is not None:
        data["image"] = {
            "path": str(image),
            "width": frame_hw[1],
            "height": frame_hw[0],
            "detections": [
                {
                    "class_id": d.class_id,
                    "class_name": d.class_name,
                    "confidence": round(d.confidence, 4),
                    "bbox": {k: round(v, 1) for k, v in d.bbox.to_dict().items()},
                }
                for d in found.to_list()
            ],
        }
    return data


def _check_size(size: int, command: str) -> None:
    if not 320 <= size <= 1280 or size % 32:
        _fail(command, f"--size {size}: expected {_SIZES}")


def _providers(names: list[str] | None) -> list[ProviderName]:
    known: dict[str, ProviderName] = {
        "cpu": "cpu",
        "cuda": "cuda",
        "tensorrt": "tensorrt",
        "openvino": "openvino",
    }
    chosen: list[ProviderName] = []
    for name in names or ["cpu"]:
        if name.lower() not in known:
            _fail("check", f"--provider {name}: expected one of {', '.join(known)}")
        chosen.append(known[name.lower()])
    return chosen


def _fail(command: str, message: str) -> NoReturn:
    """One line on standard error, exit status 2, no traceback."""
    typer.echo(f"atalaia models {command}: error: {message}", err=True)
    raise typer.Exit(USAGE_ERROR_STATUS)
