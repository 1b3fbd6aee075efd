"""ONNX Runtime execution providers: from configuration names to what this machine can run.

The same configuration file must start on a laptop and on a GPU server. A provider that the
installed onnxruntime build lacks (CUDA needs `onnxruntime-gpu`, OpenVINO needs
`onnxruntime-openvino`) is skipped with a warning instead of failing, and the CPU provider is
always last, so a detector always comes up. The warning says what to install.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

import onnxruntime as ort

log = logging.getLogger(__name__)

ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]

ORT_PROVIDER: dict[ProviderName, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
_PACKAGE_HINT: dict[ProviderName, str] = {
    "cpu": "onnxruntime",
    "cuda": "onnxruntime-gpu (and the CUDA/cuDNN libraries)",
    "tensorrt": "onnxruntime-gpu built with TensorRT (and TensorRT itself)",
    "openvino": "onnxruntime-openvino",
}
# Providers whose tensors live in device memory: only these gain from I/O binding.
DEVICE_MEMORY_PROVIDERS = frozenset({ORT_PROVIDER["cuda"], ORT_PROVIDER["tensorrt"]})

ProviderOptionValue = str | int | float | bool


def select_providers(
    requested: Sequence[ProviderName],
    options: Mapping[ProviderName, Mapping[str, ProviderOptionValue]],
    device_id: int,
    available: Sequence[str] | None = None,
) -> list[tuple[str, dict[str, str]]]:
    """(ORT provider name, options) pairs to create a session with, CPU last.

    `device_id` goes to the GPU providers unless their options set it; option values are
    passed to ONNX Runtime as strings, the form its provider options take.
    """
    available_set = set(ort.get_available_providers() if available is None else available)
    chosen: list[tuple[str, dict[str, str]]] = []
    for name in dict.fromkeys([*requested, "cpu"]):  # keep order, drop repeats
        ort_name = ORT_PROVIDER[name]
        if ort_name not in available_set:
            log.warning(
                "execution provider '%s' is not available in this onnxruntime build "
                "(install %s); falling back to the next provider",
                name,
                _PACKAGE_HINT[name],
            )
            continue
        merged: dict[str, ProviderOptionValue] = {}
        if ort_name in DEVICE_MEMORY_PROVIDERS:
            merged["device_id"] = device_id
        merged.update(options.get(name, {}))
        chosen.append((ort_name, {k: _option_text(v) for k, v in merged.items()}))
    return chosen


def warn_on_silent_fallback(requested: Sequence[str], active: Sequence[str]) -> None:
    """ONNX Runtime drops a provider whose libraries fail to load with only a log line of its
    own; compare what was asked with what the session runs on and say it plainly."""
    for name in requested:
        if name not in active:
            log.warning(
                "execution provider %s could not be initialised (missing or mismatched "
                "libraries?); the model runs on %s",
                name,
                ", ".join(active),
            )


def _option_text(value: ProviderOptionValue) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
