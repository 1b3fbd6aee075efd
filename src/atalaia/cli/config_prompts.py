"""`config check`'s view of the PPE prompts: prompt -> model -> class, for each camera.

A prompt that matches no class of a camera's models is a rule that can never fire, and today
the user only finds out from a camera problem once the service runs (or never, when the prompt
is a typo of an equipment the rules do not require yet). So `config check` resolves the
prompts file against the class tables of each camera's models, read from the model files
without running them (labels file, or the names stored in the ONNX metadata), and refuses,
naming the file and the key:

- a prompt (the person role, an equipment) that matches no class of the camera's models;
- a detector-level `filters.classes` that removes every class a prompt matches in that model
  (the camera's own `detect.classes` never does: it only narrows what is shown);
- a `ppe_missing` rule requiring equipment the prompts do not declare, or taking its persons
  `persons_from` a model the camera does not run or that has no person class;
- a `ppe_missing` rule with `unseen: unknown` on equipment no model can report as missing
  (such a rule could never fire).

Each rule's line also says what a person with no box of an equipment counts as (its
`unseen`), since that decides whether a turned head raises an alert.

`atalaia supervisor` runs the same checks before it starts anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atalaia.config import AtalaiaConfig
from atalaia.config.cameras import CameraConfig, PpeMissingRule
from atalaia.config.detectors import DetectionFilterConfig, DetectorConfig, OnnxDetectorConfig
from atalaia.detect.errors import DetectorError
from atalaia.detect.labels import class_ids_by_name, normalize_class_name
from atalaia.detect.ppe import PpePrompts, PromptMatch, load_prompts, match_prompts_in
from atalaia.rules.engine import default_prompts
from atalaia.rules.ppe_missing import unseen_is_missing


class PromptCheckError(Exception):
    """Every problem found, one per line, each naming its file and key."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class ModelClasses:
    """One detector's class table as the camera will see it: every class, and those its own
    `filters.classes` lets through (all of them when it sets none)."""

    name: str
    classes: tuple[str, ...]
    kept: frozenset[int]


def prompt_mapping(cfg: AtalaiaConfig, config_file: Path | str) -> list[str]:
    """The lines `config check` prints; `PromptCheckError` lists every refusal."""
    ppe_cameras = [
        (i, cam) for i, cam in enumerate(cfg.cameras) if cam.detect.enabled and any(_ppe_rules(cam))
    ]
    if not ppe_cameras:
        return []
    problems: list[str] = []
    if cfg.prompts is not None:
        try:
            prompts = load_prompts(cfg.prompts)
        except DetectorError as exc:
            raise PromptCheckError([str(exc)]) from None
    else:
        required = sorted(
            {eq for _, cam in ppe_cameras for _, r in _ppe_rules(cam) for eq in r.required}
        )
        prompts = default_prompts(required)
    tables: dict[str, ModelClasses | str] = {}
    lines = [f"PPE prompts ({prompts.source}): prompt -> model -> class"]
    for i, cam in ppe_cameras:
        models: list[ModelClasses] = []
        for j, name in enumerate(cam.detect.detector_names):
            if name not in tables:
                tables[name] = _model_classes(name, cfg.detectors[name])
            table = tables[name]
            if isinstance(table, str):
                key = "".join(
                    f"[{k}]" if isinstance(k, int) else f".{k}" for k in cam.detect.detector_key(j)
                ).lstrip(".")
                problems.append(f"{config_file}: cameras[{i}].detect.{key}: {table}")
            else:
                models.append(table)
        if len(models) == len(cam.detect.detector_names):
            lines += _camera_mapping(i, cam, models, prompts, config_file, problems)
    if problems:
        raise PromptCheckError(problems)
    return lines


def _ppe_rules(cam: CameraConfig) -> list[tuple[int, PpeMissingRule]]:
    return [(j, r) for j, r in enumerate(cam.rules) if isinstance(r, PpeMissingRule) and r.enabled]


def _model_classes(name: str, config: DetectorConfig) -> ModelClasses | str:
    """The detector's classes, or why they cannot be read."""
    try:
        classes = detector_class_names(config)
    except DetectorError as exc:
        return str(exc)
    if classes is None:
        model = getattr(config, "model", None)  # only ONNX models can lack names
        return (
            f"model {model} of detector {name!r} carries no class names; give it a "
            f"labels file (detectors.{name}.labels) so prompts can be matched"
        )
    kept = set(range(len(classes)))
    filters = getattr(config, "filters", None)  # a plugin's config may have no filters
    if isinstance(filters, DetectionFilterConfig) and filters.classes is not None:
        ids = class_ids_by_name(classes)
        kept = {i for n in filters.classes for i in ids.get(normalize_class_name(n), [])}
    return ModelClasses(name, classes, frozenset(kept))


def detector_class_names(config: DetectorConfig) -> tuple[str, ...] | None:
    """A detector's class names without running it: its labels file, the built-in model's,
    or the names stored in the ONNX metadata (None when the model carries none)."""
    from atalaia.detect.builtin import default_object_model
    from atalaia.detect.labels import load_labels, names_from_metadata

    if not isinstance(config, OnnxDetectorConfig):
        from atalaia.detect.scrfd import FACE_CLASSES

        return FACE_CLASSES
    if config.labels is not None:
        return load_labels(config.labels)
    if config.model is None:
        labels = default_object_model().labels
        return load_labels(labels) if labels is not None else None
    from atalaia.detect.inspect import read_graph

    _, _, metadata = read_graph(config.model)
    return names_from_metadata(metadata)


def _camera_mapping(
    i: int,
    cam: CameraConfig,
    models: list[ModelClasses],
    prompts: PpePrompts,
    config_file: Path | str,
    problems: list[str],
) -> list[str]:
    names = tuple(c for m in models for c in m.classes)
    owners = [(m, k) for m in models for k in range(len(m.classes))]
    matches = match_prompts_in(prompts, names)
    where = f"cameras[{i}].detect.{'detectors' if cam.detect.detectors else 'detector'}"
    model_list = ", ".join(m.name for m in models)
    lines = [f"camera {cam.id!r} (models: {model_list}):"]
    for role, match in matches.items():
        label = role if role == "person" else f"{role} ({prompts.region(role)})"
        lines.append(f"  {label} -> {_describe(match, owners)}")
        if not match.found:
            problems.append(
                f"{prompts.source}: {match.key}: prompt {role!r} matches no class of the models "
                f"of camera {cam.id!r} ({config_file}: {where}: {model_list})"
            )
            continue
        ids = [*match.worn, *match.missing]
        if not any(owners[c][1] in owners[c][0].kept for c in ids):
            models_of = sorted({owners[c][0].name for c in ids})
            problems.append(
                f"{config_file}: "
                + " and ".join(f"detectors.{m}.filters.classes" for m in models_of)
                + f" removes every class prompt {role!r} matches "
                f"({', '.join(names[c] for c in ids)}), which the ppe_missing rules of camera "
                f"{cam.id!r} need ({prompts.source}: {match.key})"
            )
    for j, rule in _ppe_rules(cam):
        lines += _check_rule(
            i, j, rule, cam, models, prompts, matches, owners, config_file, problems
        )
    if cam.detect.classes is not None:
        lines.append(
            f"  detect.classes [{', '.join(cam.detect.classes)}] limits what is shown and "
            "stored; the rules see every class"
        )
    return lines


def _check_rule(
    i: int,
    j: int,
    rule: PpeMissingRule,
    cam: CameraConfig,
    models: list[ModelClasses],
    prompts: PpePrompts,
    matches: dict[str, PromptMatch],
    owners: list[tuple[ModelClasses, int]],
    config_file: Path | str,
    problems: list[str],
) -> list[str]:
    at = f"{config_file}: cameras[{i}].rules[{j}]"
    unseen: list[str] = []
    for k, eq in enumerate(rule.required):
        key = normalize_class_name(eq)
        if key not in prompts.equipment:
            problems.append(
                f"{at}.required[{k}]: {eq!r} is not declared in prompts file {prompts.source} "
                f"(declared: {', '.join(prompts.equipment)})"
            )
            continue
        can_say_missing = bool(matches[key].missing)
        if rule.unseen == "unknown" and not can_say_missing:
            problems.append(
                f"{at}.unseen: unknown needs a class meaning {eq!r} is NOT worn, and no model of "
                f"camera {cam.id!r} has one ({prompts.source}: {prompts.key(key)}): the rule "
                "could never fire (use unseen: missing)"
            )
        counts = unseen_is_missing(rule.unseen, matches[key].missing)
        unseen.append(f"{eq} {'missing' if counts else 'unknown'}")
    person_models = [owners[c][0].name for c in matches["person"].worn]
    if rule.persons_from is not None:
        if rule.persons_from not in [m.name for m in models]:
            problems.append(
                f"{at}.persons_from: {rule.persons_from!r} is not one of the models of camera "
                f"{cam.id!r} ({', '.join(m.name for m in models)})"
            )
            return []
        if rule.persons_from not in person_models:
            problems.append(
                f"{at}.persons_from: model {rule.persons_from!r} has no class matching person "
                f"({prompts.source}: {prompts.key('person')})"
            )
            return []
        source = rule.persons_from
    elif person_models:
        source = person_models[0]
    else:
        return []
    name = cam.rule_names()[j]
    return [
        f"  rule {name!r}: persons from {source}, requires {', '.join(rule.required)}; "
        f"a person with no box: {', '.join(unseen)} (unseen: {rule.unseen})"
    ]


def _describe(match: PromptMatch, owners: list[tuple[ModelClasses, int]]) -> str:
    if not match.found:
        return "NO MATCHING CLASS"
    by_model: dict[str, list[str]] = {}
    for ids, kind in ((match.worn, ""), (match.missing, " (missing)")):
        for c in ids:
            model, k = owners[c]
            removed = "" if k in model.kept else " [removed by filters.classes]"
            by_model.setdefault(model.name, []).append(f"{model.classes[k]}{kind}{removed}")
    return "; ".join(f"{m}: {', '.join(v)}" for m, v in by_model.items())
