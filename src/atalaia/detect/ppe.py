"""The PPE prompts file: which model classes mean a person, and which mean each equipment.

No protective-equipment model ships with atalaia; users bring one, and every such model names
its classes differently (`helmet`, `Hardhat`, `With Helmet`, `NO-Hardhat`...). The prompts
file (the supervisor's `--prompts`, or `prompts:` in the configuration) maps the equipment
names the rules use to model class names. Three forms are accepted, because users write all
three:

```yaml
# 1. roles (the original form)
person: [person, worker]          # optional, default [person]
equipment:                        # equipment -> classes meaning "worn"
  helmet: [helmet, hardhat]
  vest: [safety vest, vest]
missing:                          # optional: classes meaning "NOT worn" (NO-Hardhat style)
  helmet: [no-hardhat]
regions: {helmet: head}           # optional: where on the person the equipment sits

# 2. a list of prompts (or `prompts: [...]`)
[person, helmet, vest]

# 3. a mapping of name to synonyms (or `prompts: {...}`)
helmet: [helmet, hard hat]
vest: {classes: [safety vest], region: torso}
```

Each equipment name, and each of its synonyms `s`, also matches the classes `with s` (worn)
and `no s` / `without s` (not worn), and a few names datasets use for the same thing
(`helmet` ~ `hardhat` ~ `hard hat`, `vest` ~ `safety vest`): `helmet` finds `With Helmet` /
`Without Helmet` and `Hardhat` / `NO-Hardhat` without being spelled out. An equipment sits
on the `head`, the `torso` or `any`where on the person; the default comes from its name (a
helmet, cap, mask or goggles is a head item, a vest or harness a torso item).

Prompts are resolved against the camera's class table, which may be the merged table of
several models (`merge_detections`): persons come from one model (the rule's `persons_from`,
or the first model with a person class), equipment from any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.labels import class_ids_by_name, normalize_class_name

Region = Literal["head", "torso", "any"]
REGIONS: tuple[Region, ...] = ("head", "torso", "any")
_ROLE_KEYS = ("person", "equipment", "missing", "regions")
_ENTRY_KEYS = ("classes", "missing", "region")

# Words that place an equipment on the head or the torso when the file does not say.
_HEAD_WORDS = frozenset(
    {
        "helmet", "helmets", "hardhat", "hardhats", "hat", "hats", "cap", "caps", "hood",
        "mask", "masks", "goggles", "glasses", "visor", "respirator", "earmuffs", "earmuff",
        "earplugs", "headgear", "faceshield",
    }
)  # fmt: skip
_HEAD_PHRASES = frozenset({"face shield", "ear protection", "hard hat", "safety glasses"})
_TORSO_WORDS = frozenset(
    {
        "vest", "vests", "jacket", "jackets", "harness", "coat", "apron", "overall",
        "overalls", "hivis", "reflective",
    }
)  # fmt: skip
# Names that datasets use for the same equipment: `helmet` finds a hard-hat model's `Hardhat`.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "helmet": ("hardhat", "hard hat", "safety helmet"),
    "hardhat": ("helmet", "hard hat"),
    "hard hat": ("hardhat", "helmet"),
    "vest": ("safety vest", "hi vis vest", "high vis vest", "reflective vest"),
    "safety vest": ("vest",),
    "mask": ("face mask",),
    "goggles": ("safety glasses",),
}
_WORN_PREFIXES = ("with ",)
_MISSING_PREFIXES = ("no ", "without ")


@dataclass(frozen=True, slots=True)
class PpePrompts:
    """A parsed prompts file. Equipment keys are normalised (lower case, spaces).

    `keys` says where each role was written in the file (`person`, `equipment.helmet`,
    `[2]`...), so a prompt that matches nothing is reported at its place.
    """

    source: str
    person: tuple[str, ...]
    equipment: Mapping[str, tuple[str, ...]]
    missing: Mapping[str, tuple[str, ...]]
    regions: Mapping[str, Region] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)

    def region(self, equipment: str) -> Region:
        name = normalize_class_name(equipment)
        return self.regions.get(name) or default_region(name, self.equipment.get(name, ()))

    def key(self, role: str) -> str:
        return self.keys.get(role, role)


@dataclass(frozen=True, slots=True)
class PpeClassIds:
    """Prompts resolved against one class table (one model's or several models' merged),
    ready for the rules: class ids per role, and where on a person each equipment sits."""

    person: tuple[int, ...]
    equipment: Mapping[str, tuple[int, ...]]
    missing: Mapping[str, tuple[int, ...]]
    regions: Mapping[str, Region] = field(default_factory=dict)
    person_model: str | None = None


@dataclass(frozen=True, slots=True)
class PromptMatch:
    """What one prompt (the person role or an equipment) matches in a class table."""

    role: str  # "person" or the equipment name
    key: str  # where the prompt is written in the file
    worn: tuple[int, ...]  # for the person role: the person classes
    missing: tuple[int, ...]

    @property
    def found(self) -> bool:
        return bool(self.worn or self.missing)


def default_region(name: str, synonyms: Sequence[str] = ()) -> Region:
    """Head for helmets, caps, masks, goggles...; torso for vests, harnesses...; else any."""
    names = [normalize_class_name(n) for n in (name, *synonyms)]
    words = {w for n in names for w in n.split()} | {n.replace(" ", "") for n in names}
    if words & _HEAD_WORDS or any(n in _HEAD_PHRASES for n in names):
        return "head"
    if words & _TORSO_WORDS or any(n.startswith(("hi vis", "high vis")) for n in names):
        return "torso"
    return "any"


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
    """Check already-loaded prompts data (`source` names it in errors), in any of its forms."""
    prefix = ""
    if isinstance(data, Mapping) and "prompts" in data:
        extra = [str(k) for k in data if k not in ("prompts", "person")]
        if extra:
            raise DetectorConfigError(
                f"prompts file {source}: unknown key '{extra[0]}' next to 'prompts' "
                "(expected prompts, and optionally person)"
            )
        builder = _Builder(source)
        if "person" in data:
            builder.set_person(data["person"], "person")
        body, prefix = data["prompts"], "prompts"
        return _parse_body(builder, body, prefix)
    if isinstance(data, Mapping) and any(k in data for k in ("equipment", "missing", "regions")):
        return _parse_roles(data, source)
    if isinstance(data, list | Mapping):
        return _parse_body(_Builder(source), data, prefix)
    raise DetectorConfigError(
        f"prompts file {source} must be a list of prompts, a mapping of name to synonyms, "
        f"or a mapping with keys {', '.join(_ROLE_KEYS)}"
    )


def match_prompts_in(prompts: PpePrompts, class_names: Sequence[str]) -> dict[str, PromptMatch]:
    """Every prompt (person first, then each equipment) against a class table; an empty match
    means no class of the table is that prompt."""
    ids = class_ids_by_name(tuple(class_names))

    def lookup(given: Sequence[str], prefixes: Sequence[str] = ("",)) -> tuple[int, ...]:
        names = [*given, *(s for n in given for s in _SYNONYMS.get(normalize_class_name(n), ()))]
        found = {
            i
            for name in names
            for prefix in prefixes
            for i in ids.get(normalize_class_name(prefix + normalize_class_name(name)), [])
        }
        return tuple(sorted(found))

    person = tuple(
        sorted({i for n in prompts.person for i in ids.get(normalize_class_name(n), [])})
    )
    out = {"person": PromptMatch("person", prompts.key("person"), person, ())}
    for name, synonyms in prompts.equipment.items():
        worn = lookup(synonyms, ("", *_WORN_PREFIXES))
        missing = set(lookup(synonyms, _MISSING_PREFIXES))
        missing |= {
            i for n in prompts.missing.get(name, ()) for i in ids.get(normalize_class_name(n), [])
        }
        out[name] = PromptMatch(name, prompts.key(name), worn, tuple(sorted(missing)))
    return out


def check_ppe_classes(
    prompts: PpePrompts,
    class_names: Sequence[str],
    required: Sequence[str],
    model_label: str = "the model",
    *,
    class_models: Sequence[str] | None = None,
    persons_from: str | None = None,
) -> PpeClassIds:
    """Resolve prompts against a class table, or raise `DetectorConfigError`.

    Every `required` equipment must be declared in the prompts and have at least one class
    (a "worn" class, or a "missing" class the model reports directly); persons must have one
    too. In a merged table (`class_models`), persons come from `persons_from`, or else from
    the first model that has a person class: two models both finding the same worker would
    make two tracks and two alerts. The error lists every equipment that fails.
    """
    shown = _shown(class_names)
    matches = match_prompts_in(prompts, class_names)
    person = matches["person"].worn
    person_model = None
    if class_models is not None:
        person, person_model = _persons_of_one_model(
            person, class_models, persons_from, prompts, shown
        )
    elif persons_from is not None:
        raise DetectorConfigError(
            f"persons_from: {persons_from!r} needs a camera with several detectors"
        )
    if not person:
        raise DetectorConfigError(
            f"no class of {model_label} matches person ({', '.join(prompts.person)} in prompts "
            f"file {prompts.source}); its classes are: {shown}"
        )
    problems: list[str] = []
    for wanted in required:
        key = normalize_class_name(wanted)
        if key not in prompts.equipment:
            problems.append(
                f"'{wanted}' is not declared in prompts file {prompts.source} "
                f"(declared: {', '.join(prompts.equipment)})"
            )
        elif not matches[key].found:
            looked_for = [*prompts.equipment[key], *prompts.missing.get(key, ())]
            problems.append(
                f"'{wanted}' (looked for: {', '.join(looked_for)}; with/no/without forms and "
                "common synonyms too)"
            )
    if problems:
        raise DetectorConfigError(
            f"PPE equipment with no matching class in {model_label}: {'; '.join(problems)}. "
            f"Its classes are: {shown}. Use a model trained on this equipment, or map the "
            f"equipment to its class names in the prompts file"
        )
    names = [n for n in prompts.equipment]
    return PpeClassIds(
        person=person,
        equipment={n: matches[n].worn for n in names},
        missing={n: matches[n].missing for n in names},
        regions={n: prompts.region(n) for n in names},
        person_model=person_model,
    )


def _persons_of_one_model(
    person: tuple[int, ...],
    class_models: Sequence[str],
    persons_from: str | None,
    prompts: PpePrompts,
    shown: str,
) -> tuple[tuple[int, ...], str | None]:
    models = list(dict.fromkeys(class_models))
    if persons_from is not None:
        if persons_from not in models:
            raise DetectorConfigError(
                f"persons_from: {persons_from!r} is not one of the camera's models "
                f"({', '.join(models)})"
            )
        chosen = tuple(i for i in person if class_models[i] == persons_from)
        if not chosen:
            raise DetectorConfigError(
                f"persons_from: model {persons_from!r} has no class matching person "
                f"({', '.join(prompts.person)} in prompts file {prompts.source})"
            )
        return chosen, persons_from
    if not person:
        return person, None
    first = class_models[person[0]]
    return tuple(i for i in person if class_models[i] == first), first


def _shown(class_names: Sequence[str]) -> str:
    text = ", ".join(list(class_names)[:12]) + (", ..." if len(class_names) > 12 else "")
    return text + f" ({len(class_names)} classes)"


class _Builder:
    """Collects roles while a file is parsed, each with the key it was written at."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.person: tuple[str, ...] = ("person",)
        self.equipment: dict[str, tuple[str, ...]] = {}
        self.missing: dict[str, tuple[str, ...]] = {}
        self.regions: dict[str, Region] = {}
        self.keys: dict[str, str] = {}

    def fail(self, key: str, message: str) -> DetectorConfigError:
        return DetectorConfigError(f"prompts file {self.source}: {key}: {message}")

    def set_person(self, value: Any, key: str) -> None:
        self.person = _names(value, self, key)
        self.keys["person"] = key

    def add(self, name: Any, value: Any, key: str) -> None:
        """One equipment: `value` is its synonyms, or {classes, missing, region}."""
        if not isinstance(name, str) or not name.strip():
            raise self.fail(key, f"expected an equipment name, got {name!r}")
        norm = normalize_class_name(name)
        if norm == "person":
            self.set_person(value, key)
            return
        if norm in self.equipment:
            raise self.fail(key, f"equipment '{name}' is declared twice (also {self.keys[norm]})")
        if isinstance(value, Mapping):
            unknown = [str(k) for k in value if k not in _ENTRY_KEYS]
            if unknown:
                raise self.fail(
                    f"{key}.{unknown[0]}", f"unknown key (expected {', '.join(_ENTRY_KEYS)})"
                )
            classes = value.get("classes", [name])
            if value.get("missing") is not None:
                self.missing[norm] = _names(value["missing"], self, f"{key}.missing")
            if value.get("region") is not None:
                self.set_region(norm, value["region"], f"{key}.region")
            value, key_of_classes = classes, f"{key}.classes"
        else:
            key_of_classes = key
        self.equipment[norm] = _names(value, self, key_of_classes)
        self.keys[norm] = key

    def set_region(self, norm: str, value: Any, key: str) -> None:
        if value not in REGIONS:
            raise self.fail(key, f"expected one of {', '.join(REGIONS)}, got {value!r}")
        self.regions[norm] = value

    def build(self) -> PpePrompts:
        if not self.equipment:
            raise DetectorConfigError(
                f"prompts file {self.source}: no equipment prompt (a PPE rule needs at least "
                "one, e.g. helmet)"
            )
        return PpePrompts(
            source=self.source,
            person=self.person,
            equipment=self.equipment,
            missing=self.missing,
            regions=self.regions,
            keys=self.keys,
        )


def _parse_body(builder: _Builder, body: Any, prefix: str) -> PpePrompts:
    """A list of prompts, or a mapping of name to synonyms."""
    if isinstance(body, list):
        if not body:
            raise builder.fail(prefix or "(top level)", "expected at least one prompt")
        for i, item in enumerate(body):
            key = f"{prefix}[{i}]"
            if isinstance(item, Mapping) and len(item) == 1:  # `- helmet: [helmet, hardhat]`
                ((name, value),) = item.items()
                builder.add(name, value, f"{key}.{name}")
            elif isinstance(item, str):
                builder.add(item, [item], key)
            else:
                raise builder.fail(key, f"expected a prompt (a class name), got {item!r}")
        return builder.build()
    if isinstance(body, Mapping):
        for name, value in body.items():
            builder.add(name, value, f"{prefix}.{name}" if prefix else str(name))
        return builder.build()
    raise builder.fail(
        prefix or "(top level)", "expected a list of prompts or a mapping of name to synonyms"
    )


def _parse_roles(data: Mapping[Any, Any], source: str) -> PpePrompts:
    """The `person` / `equipment` / `missing` / `regions` form."""
    builder = _Builder(source)
    unknown = [str(k) for k in data if k not in _ROLE_KEYS]
    if unknown:
        raise DetectorConfigError(
            f"prompts file {source}: unknown key '{unknown[0]}' (expected {', '.join(_ROLE_KEYS)})"
        )
    if "person" in data:
        builder.set_person(data["person"], "person")
    if "equipment" not in data:
        raise DetectorConfigError(f"prompts file {source}: missing key 'equipment'")
    equipment = data["equipment"]
    if not isinstance(equipment, Mapping) or not equipment:
        raise DetectorConfigError(
            f"prompts file {source}: equipment must map equipment names to class names, "
            "e.g. {helmet: [helmet, hardhat]}"
        )
    for name, value in equipment.items():
        builder.add(name, value, f"equipment.{name}")
    missing = data.get("missing") or {}
    if not isinstance(missing, Mapping):
        raise DetectorConfigError(
            f"prompts file {source}: missing must map equipment names to class names, "
            "e.g. {helmet: [no-hardhat]}"
        )
    for name, value in missing.items():
        norm = normalize_class_name(str(name))
        if norm not in builder.equipment:
            raise DetectorConfigError(
                f"prompts file {source}: missing.{name} names equipment not declared under "
                f"'equipment' ({', '.join(builder.equipment)})"
            )
        builder.missing[norm] = _names(value, builder, f"missing.{name}")
    regions = data.get("regions") or {}
    if not isinstance(regions, Mapping):
        raise builder.fail("regions", "expected a mapping of equipment name to head/torso/any")
    for name, value in regions.items():
        norm = normalize_class_name(str(name))
        if norm not in builder.equipment:
            raise builder.fail(f"regions.{name}", "names equipment not declared under 'equipment'")
        builder.set_region(norm, value, f"regions.{name}")
    return builder.build()


def _names(value: Any, builder: _Builder, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(n, str) and n.strip() for n in items)
    ):
        raise DetectorConfigError(
            f"prompts file {builder.source}: {key} must be a class name or a non-empty list "
            "of names"
        )
    return tuple(n.strip() for n in items)
