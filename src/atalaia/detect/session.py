"""One ONNX Runtime session for an image model, with the checks and the run path it needs.

Loading turns every way a model file can be wrong (missing, not ONNX, several inputs, a
non-image input) into a `ModelLoadError` that names the file. Running takes one contiguous
N x 3 x H x W tensor in the model's input precision: float32, or float16 for a half-precision
export (the letterbox writes float16 straight into the batch, so there is no extra copy, and
half the bytes go to the device). Float16 outputs come back as float32, the precision every
decoder works in, whatever the model computes in.

Why I/O binding only on GPU providers: on the CPU provider `session.run` already reads the
numpy input in place and hands back output buffers without a copy, so binding would only add
Python calls. On CUDA/TensorRT, binding lets the input live in a device buffer that is reused
and overwritten in place each call (one host-to-device copy, no per-call device allocation),
and fetches every output in one device-to-host copy after the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from atalaia.detect.device_buffers import DeviceBuffers
from atalaia.detect.errors import InferenceError, ModelLoadError
from atalaia.detect.letterbox import PixelTransform
from atalaia.detect.pixel_upload import PixelUpload
from atalaia.detect.providers import DEVICE_MEMORY_PROVIDERS, warn_on_silent_fallback

IoBinding = Literal["auto", "on", "off"]
InputBatch = NDArray[np.float32 | np.float16]
PixelBatch = NDArray[np.float32 | np.float16 | np.uint8]  # what the letterbox fills
# ONNX element types an image input may have, and the numpy type the batch is built in.
INPUT_DTYPES: dict[str, type[np.float32] | type[np.float16]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


@dataclass(frozen=True, slots=True)
class InputGeometry:
    """The image input of a model; None marks a dynamic axis."""

    name: str
    batch: int | None
    height: int | None
    width: int | None
    dtype: type[np.float32] | type[np.float16] = np.float32


class OnnxModel:
    """A loaded ONNX model: session, input geometry, output names and metadata."""

    def __init__(
        self,
        path: Path,
        providers: list[tuple[str, dict[str, str]]],
        intra_op_threads: int,
        concurrent_runs: int,
        io_binding: IoBinding = "auto",
    ) -> None:
        self.path = path
        self.intra_op_threads = intra_op_threads
        self._session = _open_session(path, providers, intra_op_threads, concurrent_runs)
        self.active_providers: list[str] = list(self._session.get_providers())
        warn_on_silent_fallback([name for name, _ in providers], self.active_providers)
        self.input = _image_input(self._session, path)
        self.output_names = [o.name for o in self._session.get_outputs()]
        self.metadata: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        on_device = self.active_providers[0] in DEVICE_MEMORY_PROVIDERS
        self.uses_io_binding = io_binding == "on" or (io_binding == "auto" and on_device)
        self._device = "cuda" if on_device else "cpu"
        self._device_id = int(dict(providers).get(self.active_providers[0], {}).get("device_id", 0))
        self._providers = providers
        self._buffers = DeviceBuffers(self._device, self._device_id)
        self._pixels: PixelUpload | None = None

    def pixel_upload(self, pixels: PixelTransform) -> PixelUpload:
        """A converter from uint8 letterboxed batches to this model's input, on its device."""
        return PixelUpload(pixels, self.input.dtype, self._providers, self._device, self._device_id)

    def take_pixels(self, upload: PixelUpload) -> None:
        """From now on `run` also takes uint8 batches, converted by `upload`."""
        self._pixels = upload

    def run(self, batch: PixelBatch) -> list[NDArray[np.float32]]:
        """Outputs of one model call on a contiguous batch of the input's dtype (or of uint8
        pixels, after `take_pixels`), as float32."""
        if batch.dtype == np.uint8 and self._pixels is None:
            raise TypeError("a uint8 batch needs take_pixels() first")
        try:
            if batch.dtype == np.uint8 and self._pixels is not None:
                if self.uses_io_binding:
                    return self._run_bound(self._pixels.to_device(batch))
                batch = self._pixels.to_host(batch)
            if self.uses_io_binding:
                return self._run_bound(batch)
            outputs = self._session.run(self.output_names, {self.input.name: batch})
        except Exception as exc:  # ORT raises its own pybind exception types
            raise InferenceError(
                f"model {self.path.name} failed on a {batch.shape} batch: {exc}"
            ) from exc
        return [_float32(o) for o in outputs]

    def warm_up(self, input_hw: tuple[int, int], size: int | None = None) -> list[tuple[int, ...]]:
        """Run the model once on blank input of `size` images; return its output shapes.

        A model whose batch axis is dynamic is run on two images unless told a size, and must
        answer with one result per image: an export that silently handles only the first
        image would otherwise lose the detections of every other camera in a batch.
        """
        batch = self.input.batch or size or 2
        try:
            outputs = self.run(np.zeros((batch, 3, *input_hw), self.input.dtype))
        except InferenceError as exc:
            raise ModelLoadError(
                f"model {self.path} fails on a blank {batch}x3x{input_hw[0]}x{input_hw[1]} "
                f"input: {exc.__cause__ or exc}"
            ) from None
        for name, output in zip(self.output_names, outputs, strict=True):
            if output.ndim == 0 or output.shape[0] != batch:
                raise ModelLoadError(
                    f"model {self.path}: output {name} has shape {list(output.shape)} for a batch "
                    f"of {batch} images; expected the batch size first"
                )
        return [tuple(o.shape) for o in outputs]

    def _run_bound(self, batch: InputBatch | Any) -> list[NDArray[np.float32]]:
        """One call with I/O binding; `batch` is a host array or an OrtValue already on the
        device (`PixelUpload.to_device`)."""
        binding = self._session.io_binding()
        if not isinstance(batch, np.ndarray):
            binding.bind_ortvalue_input(self.input.name, batch)
        elif self._device == "cpu":
            binding.bind_cpu_input(self.input.name, batch)
        else:
            binding.bind_ortvalue_input(self.input.name, self._buffers.refreshed(batch))
        for name in self.output_names:
            binding.bind_output(name, "cpu")
        self._session.run_with_iobinding(binding)
        return [_float32(o) for o in binding.copy_outputs_to_cpu()]


def _open_session(
    path: Path,
    providers: list[tuple[str, dict[str, str]]],
    intra_op_threads: int,
    concurrent_runs: int,
) -> ort.InferenceSession:
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"model path is not a file: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's own warnings are not actionable here
    # Never spin: several runs may share the intra-op pool, and in the pipeline the detector
    # shares the cores with the camera processes' decoders; idle workers that spin after each
    # call take CPU those need (measured in bench/pipeline.py: p99 latency and CPU both drop).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            str(path),
            options,
            providers=[name for name, _ in providers],
            provider_options=[opts for _, opts in providers],
        )
    except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile... all pybind types
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load {path} as an ONNX model: {first_line}") from None


def _image_input(session: ort.InferenceSession, path: Path) -> InputGeometry:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = ", ".join(f"{i.name} {i.shape}" for i in inputs)
        raise ModelLoadError(
            f"model {path}: expected one image input, found {len(inputs)} ({names})"
        )
    spec = inputs[0]
    dtype = INPUT_DTYPES.get(spec.type)
    if dtype is None:
        raise ModelLoadError(
            f"model {path}: input {spec.name} is {spec.type}, expected tensor(float) (float32) "
            "or tensor(float16)"
        )
    shape = list(spec.shape)
    channels = shape[1] if len(shape) == 4 else None
    if len(shape) != 4 or (isinstance(channels, int) and channels != 3):
        raise ModelLoadError(
            f"model {path}: input {spec.name} has shape {shape}, expected N x 3 x H x W"
        )

    def fixed(dim: Any) -> int | None:
        return dim if isinstance(dim, int) and dim > 0 else None

    return InputGeometry(spec.name, fixed(shape[0]), fixed(shape[2]), fixed(shape[3]), dtype)


def _float32(output: Any) -> NDArray[np.float32]:
    """An output as the decoders read it: float16 widened to float32, anything else as is."""
    array = np.asarray(output)
    return array.astype(np.float32) if array.dtype == np.float16 else array
