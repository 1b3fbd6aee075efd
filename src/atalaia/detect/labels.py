"""Class names: from a labels file, or from the names an exporter stored in the model.

Ultralytics writes `names` into the ONNX custom metadata as a Python dict literal
(`{0: 'person', 1: 'bicycle', ...}`); other tools write JSON or YAML. A labels file is either
plain text (one name per line) or YAML/JSON holding a list, or a mapping from class index to
name. The index mapping must cover 0..C-1 exactly, because class ids index this table.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from atalaia.detect.errors import ModelLoadError


def load_labels(path: Path) -> tuple[str, ...]:
    """Read a labels file; `ModelLoadError` names the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelLoadError(f"labels file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read labels file {path}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise ModelLoadError(f"labels file {path} is not valid YAML/JSON: {exc}") from None
        if isinstance(data, Mapping) and "names" in data:
            data = data["names"]  # an Ultralytics dataset YAML
        names = _names_from_data(data)
        if names is None:
            raise ModelLoadError(
                f"labels file {path} must hold a list of names or a mapping 0..C-1 -> name"
            )
    else:
        names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise ModelLoadError(f"labels file {path} holds no class names")
    return names


def names_from_metadata(metadata: Mapping[str, str]) -> tuple[str, ...] | None:
    """The class names stored in a model's custom metadata under `names`, if readable."""
    raw = metadata.get("names")
    if not raw:
        return None
    data: Any
    try:
        data = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        try:
            data = json.loads(raw)
        except ValueError:
            return None
    return _names_from_data(data)


def _names_from_data(data: Any) -> tuple[str, ...] | None:
    if isinstance(data, list | tuple) and data and all(isinstance(n, str) for n in data):
        return tuple(n.strip() for n in data)
    if isinstance(data, Mapping) and data:
        try:
            by_index = {int(k): str(v).strip() for k, v in data.items()}
        except (TypeError, ValueError):
            return None
        if sorted(by_index) != list(range(len(by_index))):
            return None
        return tuple(by_index[i] for i in range(len(by_index)))
    return None


def normalize_class_name(name: str) -> str:
    """The form class names are compared in: case, '_' and '-' and repeated spaces ignored,
    so `safety_vest`, `Safety Vest` and `safety-vest` are one class."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def class_ids_by_name(class_names: tuple[str, ...]) -> dict[str, list[int]]:
    """Normalised class name -> class ids carrying it (usually one)."""
    index: dict[str, list[int]] = {}
    for class_id, name in enumerate(class_names):
        index.setdefault(normalize_class_name(name), []).append(class_id)
    return index
