"""An ultralytics detection checkpoint (YOLOv8/11/12, RT-DETR, YOLO-World) to an ONNX model.

The export itself is ultralytics' own ONNX exporter (tracing, onnxslim, `names` written into
the metadata as a dict literal, which `atalaia.detect.labels` reads). Around it:

- **Offline.** ultralytics may try to download fonts, assets or text encoders and to pip-install
  what it misses; `YOLO_OFFLINE` and `YOLO_AUTOINSTALL=false` stop both, so a missing piece is
  an error here rather than a hang or a silent install.
- **Nothing written beside the checkpoint.** ultralytics writes its ONNX next to the `.pt`
  (often a read-only package folder): the checkpoint is linked into a temporary folder first.
- **YOLOv12 fork checkpoints** are repacked (`atalaia.export.fork_attention`).
- **YOLO-World** gets the prompts as its vocabulary when its CLIP text encoder can be loaded;
  when it cannot (offline, the `clip` package absent), the export stops and says so, since the
  class names would not match what the model detects.
- **Shape.** The batch axis stays dynamic (the detector process sends whole batches across
  cameras); height and width are fixed to `--size`, so the runtime uses the size the model was
  exported at without further configuration.
- **Checked.** The result is loaded by the runtime's own loader, which recognises the head and
  counts the classes; a file it could not use is not left at `--out`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atalaia.detect.errors import DetectorError
from atalaia.detect.inspect import inspect_model
from atalaia.export.errors import ExportError
from atalaia.export.extra import require_export_extra
from atalaia.export.fork_attention import repack_fork_attention
from atalaia.export.vocabulary import read_vocabulary

_OFFLINE_ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "YOLO_VERBOSE": "false"}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written and how."""

    path: Path
    family: str  # "yolo", "rtdetr" or "yolo-world"
    head_format: str
    class_names: tuple[str, ...]
    input_size: int
    repacked_attention: int  # fork attention blocks rewritten for stock ultralytics
    seconds: float


def export_checkpoint(
    checkpoint: Path,
    out: Path,
    size: int = 640,
    prompts: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ExportResult:
    """Export `checkpoint` to `out`; `ExportError` (or `ExportExtraMissing`) on any failure."""
    started = time.perf_counter()
    if not checkpoint.is_file():
        raise ExportError(f"{checkpoint}: no such file")
    vocabulary = read_vocabulary(prompts) if prompts is not None else None
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    require_export_extra()
    with tempfile.TemporaryDirectory(prefix="atalaia-export-") as work:
        staged = Path(work) / f"{checkpoint.stem}.pt"
        os.symlink(checkpoint.resolve(), staged)
        model = _load(staged, checkpoint)
        inner = model.model
        family = _family(inner)
        repacked = repack_fork_attention(inner)
        if repacked:
            progress(f"repacked {repacked} YOLOv12-fork attention block(s) (qk + v -> qkv)")
        if vocabulary is not None:
            _set_vocabulary(inner, family, vocabulary, prompts, checkpoint)
        progress(f"exporting {checkpoint.name} ({family}, {len(inner.names)} classes) at {size}")
        _keep_raw_head(inner)
        try:
            written = _quiet_export(
                model,
                format="onnx",
                imgsz=size,
                dynamic=True,
                simplify=True,
                nms=None,  # False would turn NMS-free heads (YOLO26, v10) to their top-k branch
                half=False,
                batch=1,
                device="cpu",
                verbose=False,
            )
        except Exception as exc:  # ultralytics and torch raise anything from tracing
            raise ExportError(f"{checkpoint}: ultralytics could not export it: {exc}") from exc
        staged_onnx = Path(work) / "model.onnx"
        _finish_onnx(Path(str(written)), staged_onnx, size, checkpoint, repacked)
        try:
            report = inspect_model(staged_onnx, size=size)
        except DetectorError as exc:
            raise ExportError(f"the exported model cannot be used by atalaia: {exc}") from None
        if not report.usable:
            raise ExportError(f"the exported model cannot be used by atalaia: {report.problem}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged_onnx, out)
    return ExportResult(
        path=out,
        family=family,
        head_format=report.head_format or "?",
        class_names=report.class_names or (),
        input_size=size,
        repacked_attention=repacked,
        seconds=time.perf_counter() - started,
    )


def _load(staged: Path, original: Path) -> Any:
    """The checkpoint as an ultralytics model object, detection only."""
    ultralytics = importlib.import_module("ultralytics")
    try:
        model = ultralytics.YOLO(str(staged))
    except Exception as exc:  # torch.load / pickle errors of any type
        # ultralytics' message names the staged link and adds advice lines; keep the cause.
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        cause = lines[0].replace(str(staged), str(original)).replace("ERROR ❌️ ", "")
        raise ExportError(
            f"{original}: cannot load it as an ultralytics checkpoint: {cause}"
        ) from None
    if model.task != "detect":
        raise ExportError(
            f"{original}: a '{model.task}' model; only detection models are exported "
            "(the runtime decodes detection heads)"
        )
    return model


def _family(inner: Any) -> str:
    kind = type(inner).__name__
    if kind == "WorldModel":
        return "yolo-world"
    if kind == "RTDETRDetectionModel":
        return "rtdetr"
    return "yolo"


def _quiet_export(model: Any, **options: Any) -> Any:
    """ultralytics' export, without torch's tracer warnings (one per shape-dependent branch,
    none of them actionable by the person exporting)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.export(**options)


def _keep_raw_head(inner: Any) -> None:
    """Make an RT-DETR decoder export its raw head, as the runtime decodes it.

    In export mode ultralytics' `RTDETRDecoder` ends with its own top-k, giving B x K x 6
    (box, best score, class index); atalaia's `rtdetr` format is the head before that,
    B x Q x (4 + C) (normalised cx, cy, w, h, then every class probability), which keeps all
    classes for the filters and the PPE rules. The instance's `postprocess` is replaced for
    this export only: the model object is discarded afterwards.
    """
    head = inner.model[-1]
    if type(head).__name__ != "RTDETRDecoder":
        return
    torch = importlib.import_module("torch")
    head.postprocess = lambda boxes, scores: torch.cat([boxes, scores], dim=-1)


def _set_vocabulary(
    inner: Any, family: str, names: tuple[str, ...], prompts: Path | None, checkpoint: Path
) -> None:
    """Give a YOLO-World model its text prompts, or say exactly why that cannot be done."""
    current = ", ".join(inner.names.values())
    if family != "yolo-world":
        raise ExportError(
            f"--prompts sets the vocabulary of YOLO-World (open-vocabulary) checkpoints; "
            f"{checkpoint.name} is a {family} model whose classes were fixed in training "
            f"({current}). Export it without --prompts and map its classes in the prompts file"
        )
    if importlib.util.find_spec("clip") is None:
        raise ExportError(
            f"YOLO-World prompts from {prompts} need the CLIP text encoder, which is not "
            "available: ultralytics needs the 'clip' package (ultralytics/CLIP, installed from "
            "GitHub) and downloads its ViT-B/32 weights on first use. Install both where a "
            "network is reachable, or export without --prompts to keep the checkpoint's own "
            f"vocabulary ({len(inner.names)} classes: {current})"
        )
    try:
        inner.set_classes(list(names))
    except Exception as exc:  # download or load failure of the text encoder
        raise ExportError(
            f"YOLO-World prompts from {prompts}: the CLIP text encoder could not be loaded "
            f"({exc}); export without --prompts to keep the checkpoint's own vocabulary"
        ) from None
    inner.names = dict(enumerate(names))


def _finish_onnx(source: Path, target: Path, size: int, checkpoint: Path, repacked: int) -> None:
    """Fix height and width to `size` (batch stays dynamic) and note where the model came from."""
    onnx = importlib.import_module("onnx")
    model = onnx.load(str(source))
    for graph_input in model.graph.input:
        dims = graph_input.type.tensor_type.shape.dim
        if len(dims) == 4:
            for axis in (2, 3):
                dims[axis].Clear()
                dims[axis].dim_value = size
    notes = {"atalaia_exported_from": checkpoint.name}
    if repacked:
        notes["atalaia_conversion"] = f"YOLOv12-fork attention repacked to stock qkv ({repacked})"
    for key, value in notes.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(target))
