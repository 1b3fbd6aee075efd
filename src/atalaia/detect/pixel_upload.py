"""Letterboxed frames to the model's device as uint8, converted there (`input_upload: uint8`).

On the H200 the model alone was bound by its copies: at batch 32 a float32 input is 4.9 MB a
frame, and a float16 model (half the bytes) ran 1.8x faster (docs/benchmarks.md, "First GPU
run"). The letterbox already produces whole pixels, so the batch can cross as bytes, a quarter
of float32's, and the scaling to the model's input runs where the model does: a four-node graph
(`atalaia.detect.pixel_graph`) on the same provider, whose output stays on the device and is
bound as the model's input. Resizing stays on the CPU.

On the CPU provider the same graph runs on the host (configured explicitly; `auto` keeps the
float letterbox there, which scales in the same pass as it copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from atalaia.detect.device_buffers import DeviceBuffers
from atalaia.detect.letterbox import PixelTransform
from atalaia.detect.pixel_graph import MODEL_INPUT, PIXELS_INPUT, pixel_graph


class PixelUpload:
    """One converter session per model file, shared by its sessions and their threads."""

    def __init__(
        self,
        pixels: PixelTransform,
        model_dtype: type[np.float32] | type[np.float16],
        providers: list[tuple[str, dict[str, str]]],
        device: str,
        device_id: int,
    ) -> None:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        graph = pixel_graph(pixels.mean, pixels.scale, float16=model_dtype == np.float16)
        chain = converter_providers(providers, device_id)
        self._session = ort.InferenceSession(
            graph,
            options,
            providers=[name for name, _ in chain],
            provider_options=[opts for _, opts in chain],
        )
        self._buffers = DeviceBuffers(device, device_id)

    def to_host(self, batch: NDArray[Any]) -> NDArray[np.float32 | np.float16]:
        """The model's input for `batch`, on the host."""
        out: NDArray[np.float32 | np.float16] = self._session.run(
            [MODEL_INPUT], {PIXELS_INPUT: batch}
        )[0]
        return out

    def to_device(self, batch: NDArray[Any]) -> Any:
        """The model's input for `batch`, as an OrtValue left on the device: the uint8 batch
        is copied into this thread's reused device buffer, the graph runs there."""
        binding = self._session.io_binding()
        binding.bind_ortvalue_input(PIXELS_INPUT, self._buffers.refreshed(batch))
        binding.bind_output(MODEL_INPUT, self._buffers.device, self._buffers.device_id)
        self._session.run_with_iobinding(binding)
        return binding.get_outputs()[0]


def converter_providers(
    providers: list[tuple[str, dict[str, str]]], device_id: int
) -> list[tuple[str, dict[str, str]]]:
    """The model's providers for the converter, TensorRT replaced by CUDA: TensorRT would
    build an engine per input shape for three elementwise operators that CUDA runs as they
    are (the model's own session keeps TensorRT)."""
    listed = {name for name, _ in providers}
    chain: list[tuple[str, dict[str, str]]] = []
    for name, opts in providers:
        if name == "TensorrtExecutionProvider":
            if "CUDAExecutionProvider" in listed:
                continue
            name, opts = "CUDAExecutionProvider", {"device_id": str(device_id)}
        chain.append((name, opts))
    return chain
