"""The class names a YOLO-World checkpoint should detect, read from `--prompts FILE`.

Two kinds of file are accepted, so the prompts file the PPE rules already use works as is:

- a PPE prompts file in any of its mapping forms (`atalaia.detect.ppe`): the vocabulary is
  every class name it mentions, persons first, in file order, each once (a bare list of
  prompts reads as a labels list, the same names);
- a labels file (one name per line, or YAML/JSON list or index mapping; `atalaia.detect.labels`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from atalaia.detect.errors import DetectorError
from atalaia.detect.labels import load_labels, normalize_class_name
from atalaia.detect.ppe import parse_prompts
from atalaia.export.errors import ExportError


def read_vocabulary(path: Path) -> tuple[str, ...]:
    """Class names from a PPE prompts file or a labels file; `ExportError` names the file."""
    try:
        if path.suffix.lower() in (".yaml", ".yml", ".json"):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(data, Mapping) and "names" not in data and not _index_keys(data):
                prompts = parse_prompts(data, str(path))
                names = [
                    *prompts.person,
                    *(n for group in prompts.equipment.values() for n in group),
                    *(n for group in prompts.missing.values() for n in group),
                ]
                return _unique(names)
        return _unique(list(load_labels(path)))
    except FileNotFoundError:
        raise ExportError(f"prompts file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExportError(f"cannot read prompts file {path}: {exc}") from None
    except DetectorError as exc:
        raise ExportError(str(exc)) from None


def _index_keys(data: Mapping[object, object]) -> bool:
    """Whether a mapping is a labels file's index -> name (not a PPE prompts file's form)."""
    return all(isinstance(k, int) or str(k).isdigit() for k in data)


def _unique(names: list[str]) -> tuple[str, ...]:
    """Names in order, dropping repeats that differ only in case, '_' or '-'."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        key = normalize_class_name(name)
        if key not in seen:
            seen.add(key)
            kept.append(name.strip())
    return tuple(kept)
