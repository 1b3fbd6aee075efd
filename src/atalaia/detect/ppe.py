"""The PPE prompts file: which model classes mean a person, and which mean each equipment.

No protective-equipment model ships with atalaia; users bring one, and every such model names
its classes differently (`helmet`, `Hardhat`, `hard_hat`...). The prompts file (the
supervisor's `--prompts`) maps equipment names used by the rules to model class names:

```yaml
person: [person, worker]          # optional, default [person]
equipment:                        # required: equipment -> classes meaning "worn"
  helmet: [helmet, hardhat]
  vest: [safety vest, vest]
missing:                          # optional: classes meaning "NOT worn" (NO-Hardhat style)
  helmet: [no-hardhat]
```

A PPE rule against a model that has no class for its equipment can never fire; that is a
configuration error reported at start-up, naming the equipment and the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.labels import class_ids_by_name, normalize_class_name

_KEYS = ("person", "equipment", "missing")


@dataclass(frozen=True, slots=True)
class PpePrompts:
    """A parsed prompts file. Equipment keys are normalised (lower case, spaces)."""

    source: str
    person: tuple[str, ...]
    equipment: Mapping[str, tuple[str, ...]]
    missing: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class PpeClassIds:
    """Prompts resolved against one model's class table, ready for the rules."""

    person: tuple[int, ...]
    equipment: Mapping[str, tuple[int, ...]]
    missing: Mapping[str, tuple[int, ...]]


def load_prompts(path: Path | str) -> PpePrompts:
    """Read and check a prompts file; `DetectorConfigError` names the file and the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DetectorConfigError(f"prompts file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectorConfigError(f"cannot read prompts file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DetectorConfigError(f"prompts file {path} is not valid YAML: {exc}") from None
    return parse_prompts(data, str(path))


def parse_prompts(data: Any, source: str) -> PpePrompts:
    """Check already-loaded prompts data (`source` names it in errors)."""
    if not isinstance(data, Mapping):
        raise DetectorConfigError(
            f"prompts file {source} must be a mapping with keys {', '.join(_KEYS)}"
        )
    unknown = [str(k) for k in data if k not in _KEYS]
    if unknown:
        raise DetectorConfigError(
            f"prompts file {source}: unknown key '{unknown[0]}' (expected {', '.join(_KEYS)})"
        )
    person = _names(data.get("person", ["person"]), source, "person")
    if "equipment" not in data:
        raise DetectorConfigError(f"prompts file {source}: missing key 'equipment'")
    equipment = _equipment_map(data["equipment"], source, "equipment", allow_empty=False)
    missing = _equipment_map(data.get("missing") or {}, source, "missing", allow_empty=True)
    for name in missing:
        if name not in equipment:
            raise DetectorConfigError(
                f"prompts file {source}: missing.{name} names equipment not declared under "
                f"'equipment' ({', '.join(equipment)})"
            )
    return PpePrompts(source=source, person=person, equipment=equipment, missing=missing)


def check_ppe_classes(
    prompts: PpePrompts,
    class_names: Sequence[str],
    required: Sequence[str],
    model_label: str = "the model",
) -> PpeClassIds:
    """Resolve prompts against a model's classes, or raise `DetectorConfigError`.

    Every `required` equipment must be declared in the prompts and have at least one class
    in the model (a "worn" class, or a "missing" class the model reports directly); persons
    must have one too. The error lists every equipment that fails, not just the first.
    """
    ids = class_ids_by_name(tuple(class_names))
    shown = ", ".join(list(class_names)[:12]) + (", ..." if len(class_names) > 12 else "")
    shown += f" ({len(class_names)} classes)"

    def resolve(names: Sequence[str]) -> tuple[int, ...]:
        found = {i for name in names for i in ids.get(normalize_class_name(name), [])}
        return tuple(sorted(found))

    person = resolve(prompts.person)
    if not person:
        raise DetectorConfigError(
            f"no class of {model_label} matches person ({', '.join(prompts.person)} in prompts "
            f"file {prompts.source}); its classes are: {shown}"
        )
    equipment = {name: resolve(names) for name, names in prompts.equipment.items()}
    missing = {name: resolve(names) for name, names in prompts.missing.items()}
    problems: list[str] = []
    for wanted in required:
        key = normalize_class_name(wanted)
        if key not in prompts.equipment:
            problems.append(
                f"'{wanted}' is not declared in prompts file {prompts.source} "
                f"(declared: {', '.join(prompts.equipment)})"
            )
        elif not equipment[key] and not missing.get(key):
            looked_for = [*prompts.equipment[key], *prompts.missing.get(key, ())]
            problems.append(f"'{wanted}' (looked for: {', '.join(looked_for)})")
    if problems:
        raise DetectorConfigError(
            f"PPE equipment with no matching class in {model_label}: {'; '.join(problems)}. "
            f"Its classes are: {shown}. Use a model trained on this equipment, or map the "
            f"equipment to its class names in the prompts file"
        )
    return PpeClassIds(person=person, equipment=equipment, missing=missing)


def _names(value: Any, source: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(n, str) and n.strip() for n in items)
    ):
        raise DetectorConfigError(
            f"prompts file {source}: {key} must be a class name or a non-empty list of names"
        )
    return tuple(n.strip() for n in items)


def _equipment_map(
    value: Any, source: str, key: str, allow_empty: bool
) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or (not value and not allow_empty):
        raise DetectorConfigError(
            f"prompts file {source}: {key} must map equipment names to class names, "
            "e.g. {helmet: [helmet, hardhat]}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for name, classes in value.items():
        if not isinstance(name, str) or not name.strip():
            raise DetectorConfigError(f"prompts file {source}: {key} has a non-text name {name!r}")
        out[normalize_class_name(name)] = _names(classes, source, f"{key}.{name}")
    return out
