"""What a model file is, as the detector sees it: for `atalaia models check`.

Brought models fail in ways a person has to see to fix: a second input, NMS baked in, class
names missing or one too many. The precision (float32, float16, or mixed) is reported too: a
float16 export is fed float16 and its outputs read as float32 (docs/gpu.md).

The report lists the raw graph (inputs, outputs, metadata) from ONNX Runtime directly, so it
is shown even for a model the detector refuses, and then loads the model the way a camera's
detector would (the same `OnnxDetector`, same head recognition, same class-name sources) to
say whether, and how, it would run. A model that loads here loads in the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import onnxruntime as ort

from atalaia.config.detectors import OnnxDetectorConfig, ProviderName
from atalaia.detect.errors import DetectorError, ModelLoadError
from atalaia.detect.labels import names_from_metadata
from atalaia.detect.ppe import PpePrompts, match_prompts_in
from atalaia.detect.protocol import Detector
from atalaia.detect.registry import build_detector

# Metadata worth showing; ultralytics also stores its whole training `args`, which is noise here.
SHOWN_METADATA = (
    "description",
    "author",
    "license",
    "version",
    "date",
    "task",
    "imgsz",
    "stride",
    "atalaia_exported_from",
    "atalaia_conversion",
)
_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One graph input or output; a dynamic axis is its name (`batch`) or None."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name} {self.dtype} [{dims}]"


@dataclass(frozen=True, slots=True)
class ModelReport:
    """Everything `models check` says about a model file."""

    path: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: Mapping[str, str]
    usable: bool
    precision: str = "float32"  # of the graph's inputs and outputs: float32, float16, mixed
    problem: str | None = None
    head_format: str | None = None
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    names_source: str | None = None
    input_height: int | None = None
    input_width: int | None = None
    model_batch: int | None = None  # fixed batch axis; None when dynamic
    providers: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metadata"] = dict(self.metadata)
        return data


def read_graph(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, str]]:
    """Inputs, outputs and custom metadata of an ONNX file; `ModelLoadError` if it is not one."""
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's pybind error types: InvalidProtobuf, Fail, ...
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise ModelLoadError(f"cannot load {path} as an ONNX model: {first_line}") from None

    def specs(args: Sequence[Any]) -> tuple[TensorSpec, ...]:
        return tuple(
            TensorSpec(a.name, tuple(_dim(d) for d in (a.shape or [])), _DTYPES.get(a.type, a.type))
            for a in args
        )

    metadata = dict(session.get_modelmeta().custom_metadata_map)
    return specs(session.get_inputs()), specs(session.get_outputs()), metadata


def inspect_model(
    path: Path,
    labels: Path | None = None,
    size: int = 640,
    providers: Sequence[ProviderName] = ("cpu",),
    min_score: float = 0.25,
) -> ModelReport:
    """Report on `path`; raises `ModelLoadError` only when it is not a readable ONNX file.

    A readable model the detector cannot use gives a report with `usable=False` and the
    detector's own error in `problem`.
    """
    report, detector = open_for_check(path, labels, size, providers, min_score)
    if detector is not None:
        detector.close()
    return report


def open_for_check(
    path: Path,
    labels: Path | None,
    size: int,
    providers: Sequence[ProviderName] = ("cpu",),
    min_score: float = 0.25,
) -> tuple[ModelReport, Detector | None]:
    """The report and, when the model is usable, the loaded detector (the caller closes it)."""
    inputs, outputs, metadata = read_graph(path)
    shown = {k: metadata[k] for k in SHOWN_METADATA if metadata.get(k)}
    base = ModelReport(
        str(path), inputs, outputs, shown, usable=False, precision=precision(inputs, outputs)
    )
    stored_names = names_from_metadata(metadata)
    if labels is not None:
        source = f"labels file {labels}"
    elif stored_names is not None:
        source = "model metadata"
    else:
        source = "none: neither a labels file nor names in the metadata"
    try:
        config = OnnxDetectorConfig(
            model=path,
            labels=labels,
            input_size=size,
            min_score=min_score,
            providers=list(providers),
            concurrent_runs=1,  # one session is enough to look at a model
            latency_session=False,
        )
        detector = build_detector(config)
    except DetectorError as exc:
        names = stored_names if labels is None else None  # a bad labels file names nothing
        return replace(base, problem=str(exc), class_names=names, names_source=source), None
    info = detector.info
    report = replace(
        base,
        usable=True,
        head_format=info.model_format,
        num_classes=info.num_classes,
        class_names=detector.class_names,
        names_source=source if stored_names or labels else "none: named class_0.. by index",
        input_height=info.input_height,
        input_width=info.input_width,
        model_batch=info.model_batch,
        providers=info.providers,
    )
    return report, detector


def precision(inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> str:
    """`float16` or `float32` when every floating input and output has that type, else what
    each has (`mixed: input float16, outputs float32`)."""
    kinds = ("float16", "float32", "float64")
    ins = sorted({spec.dtype for spec in inputs if spec.dtype in kinds})
    outs = sorted({spec.dtype for spec in outputs if spec.dtype in kinds})
    if len(set(ins) | set(outs)) == 1:
        return (ins or outs)[0]
    if not ins and not outs:
        return "none (no floating-point inputs or outputs)"
    return f"mixed: input {'/'.join(ins) or '-'}, outputs {'/'.join(outs) or '-'}"


def match_prompts(prompts: PpePrompts, class_names: Sequence[str]) -> dict[str, list[str]]:
    """For each role of a prompts file (`person`, each equipment, each `missing ...`), the model
    classes it matches (as the rules match them: `with`/`no`/`without` forms included); an
    empty list means the model cannot see it."""
    matches = match_prompts_in(prompts, class_names)
    roles = {"person": [class_names[i] for i in matches["person"].worn]}
    equipment = [m for role, m in matches.items() if role != "person"]
    roles.update({m.role: [class_names[i] for i in m.worn] for m in equipment})
    roles.update(
        {
            f"missing {m.role}": [class_names[i] for i in m.missing]
            for m in equipment
            if m.missing or m.role in prompts.missing  # asked for, or found by its name
        }
    )
    return roles


def _dim(value: Any) -> int | str | None:
    if isinstance(value, int) and value > 0:
        return value
    return value if isinstance(value, str) and value else None
