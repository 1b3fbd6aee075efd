"""ONNX Runtime execution providers: from configuration to what this machine can run.

The same configuration file must start on a laptop and on a GPU server. A provider that the
installed onnxruntime build lacks (CUDA needs `onnxruntime-gpu`, OpenVINO needs
`onnxruntime-openvino`) is skipped with a warning instead of failing, and the CPU provider is
always last, so a detector always comes up. The warning says why the provider is missing and
what to do: install a package, reinstall `onnxruntime-gpu` over the CPU build that shadows it
(both ship the same `onnxruntime` module), or install CUDA libraries of the build's version.

The typed `cuda:` and `tensorrt:` settings become ONNX Runtime provider options here, so the
option names and units (bytes, "1"/"0") live in one place.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import logging
from collections.abc import Mapping, Sequence
from typing import Literal

import onnxruntime as ort

from atalaia.config.detectors import CudaSettings, OnnxRuntimeSettings, TensorrtSettings
from atalaia.detect.errors import ModelLoadError

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
    "cuda": "onnxruntime-gpu (and the CUDA/cuDNN libraries): pip install 'atalaia[gpu]', "
    "see docs/gpu.md",
    "tensorrt": "onnxruntime-gpu built with TensorRT (and TensorRT itself), see docs/gpu.md",
    "openvino": "onnxruntime-openvino",
}
# Providers whose tensors live in device memory: only these gain from I/O binding.
DEVICE_MEMORY_PROVIDERS = frozenset({ORT_PROVIDER["cuda"], ORT_PROVIDER["tensorrt"]})
_GPU_NAMES: frozenset[ProviderName] = frozenset({"cuda", "tensorrt"})
MIB = 1024 * 1024

ProviderOptionValue = str | int | float | bool


def resolve_providers(
    settings: OnnxRuntimeSettings, available: Sequence[str] | None = None
) -> list[tuple[str, dict[str, str]]]:
    """The (ORT provider, options) pairs a detector's sessions are created with, CPU last.

    Also gets a chosen GPU provider ready: the TensorRT engine cache folder exists, and the
    CUDA libraries of pip's `nvidia-*` packages are loaded when this build knows how.
    """
    options = merged_options(settings)
    chosen = select_providers(settings.providers, options, settings.device_id, available)
    names = {name for name, _ in chosen}
    cache = settings.tensorrt.engine_cache_dir
    if cache is not None and ORT_PROVIDER["tensorrt"] in names:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelLoadError(
                f"tensorrt.engine_cache_dir {cache} cannot be created: {exc.strerror or exc}"
            ) from None
    if names & DEVICE_MEMORY_PROVIDERS:
        _preload_cuda_libraries()
    return chosen


def merged_options(
    settings: OnnxRuntimeSettings,
) -> dict[ProviderName, dict[str, ProviderOptionValue]]:
    """The typed GPU settings as ORT options, then `provider_options` (the config refuses the
    same option set both ways, so neither silently wins)."""
    merged: dict[ProviderName, dict[str, ProviderOptionValue]] = {
        "cuda": cuda_options(settings.cuda),
        "tensorrt": tensorrt_options(settings.tensorrt),
    }
    for name, raw in settings.provider_options.items():
        merged.setdefault(name, {}).update(raw)
    return {name: opts for name, opts in merged.items() if opts}


def cuda_options(cuda: CudaSettings) -> dict[str, ProviderOptionValue]:
    """`cuda:` settings as CUDAExecutionProvider options (only those set)."""
    options: dict[str, ProviderOptionValue] = {}
    if cuda.gpu_mem_limit_mb is not None:
        options["gpu_mem_limit"] = cuda.gpu_mem_limit_mb * MIB
    if cuda.conv_algo_search is not None:
        options["cudnn_conv_algo_search"] = cuda.conv_algo_search.upper()
    if cuda.conv_max_workspace is not None:
        options["cudnn_conv_use_max_workspace"] = cuda.conv_max_workspace
    return options


def tensorrt_options(tensorrt: TensorrtSettings) -> dict[str, ProviderOptionValue]:
    """`tensorrt:` settings as TensorrtExecutionProvider options (only those set)."""
    options: dict[str, ProviderOptionValue] = {}
    if tensorrt.fp16:
        options["trt_fp16_enable"] = True
    if tensorrt.engine_cache_dir is not None:
        folder = str(tensorrt.engine_cache_dir)
        options.update(
            trt_engine_cache_enable=True,
            trt_engine_cache_path=folder,
            trt_timing_cache_enable=True,
            trt_timing_cache_path=folder,
        )
    if tensorrt.max_workspace_mb is not None:
        options["trt_max_workspace_size"] = tensorrt.max_workspace_mb * MIB
    return options


def select_providers(
    requested: Sequence[ProviderName],
    options: Mapping[ProviderName, Mapping[str, ProviderOptionValue]],
    device_id: int,
    available: Sequence[str] | None = None,
    installed: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, str]]]:
    """(ORT provider name, options) pairs to create a session with, CPU last.

    `device_id` goes to the GPU providers unless their options set it; option values are
    passed to ONNX Runtime as strings, the form its provider options take. `available` (the
    build's providers) and `installed` (onnxruntime distributions and versions) default to
    this environment's.
    """
    available_set = set(ort.get_available_providers() if available is None else available)
    chosen: list[tuple[str, dict[str, str]]] = []
    for name in dict.fromkeys([*requested, "cpu"]):  # keep order, drop repeats
        ort_name = ORT_PROVIDER[name]
        if ort_name not in available_set:
            log.warning(
                "execution provider '%s' is not available in this onnxruntime build (%s); "
                "falling back to the next provider",
                name,
                why_unavailable(name, _installed_runtimes() if installed is None else installed),
            )
            continue
        merged: dict[str, ProviderOptionValue] = {}
        if ort_name in DEVICE_MEMORY_PROVIDERS:
            merged["device_id"] = device_id
        merged.update(options.get(name, {}))
        chosen.append((ort_name, {k: _option_text(v) for k, v in merged.items()}))
    return chosen


def why_unavailable(name: ProviderName, installed: Mapping[str, str]) -> str:
    """What to do about a provider the build lacks, from the onnxruntime distributions
    installed (name -> version)."""
    gpu_version = installed.get("onnxruntime-gpu")
    if name in _GPU_NAMES and gpu_version is not None:
        if "onnxruntime" in installed:
            return (
                f"onnxruntime {installed['onnxruntime']} and onnxruntime-gpu {gpu_version} are "
                "both installed and share the onnxruntime module; the CPU build's files won. "
                f"Run: pip install --force-reinstall --no-deps onnxruntime-gpu=={gpu_version}"
            )
        return (
            f"onnxruntime-gpu {gpu_version} is installed but its {name} provider did not "
            "register: CUDA/cuDNN (or TensorRT) libraries missing or of another major version"
        )
    return f"install {_PACKAGE_HINT[name]}"


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


def _installed_runtimes() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[dist] = importlib.metadata.version(dist)
    return found


def _preload_cuda_libraries() -> None:
    """Load CUDA and cuDNN from pip's `nvidia-*` packages (onnxruntime-gpu >= 1.21 knows
    where they are); without it the CUDA provider finds only libraries on the loader's path.
    ORT prints what it could not load: that text goes to the log instead of stdout."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            preload(cuda=True, cudnn=True, msvc=False)
    except Exception as exc:  # a RuntimeError for a bad folder, OSError from ctypes
        log.warning("could not preload the CUDA libraries: %s", exc)
        return
    if printed.getvalue().strip():
        log.warning("loading the CUDA libraries: %s", " ".join(printed.getvalue().split()))


def _option_text(value: ProviderOptionValue) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
