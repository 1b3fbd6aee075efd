"""The PPE prompts file and the check that a model has the equipment's classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.detect import DetectorConfigError, check_ppe_classes, load_prompts

COCO_LIKE = ("person", "bicycle", "car", "dog", "backpack")
PPE_MODEL = ("Person", "Hardhat", "NO-Hardhat", "Safety Vest", "NO-Safety Vest", "Mask")

PROMPTS = """\
person: [person, worker]
equipment:
  helmet: [helmet, hardhat]
  Safety Vest: [safety vest, vest]
  gloves: gloves
missing:
  helmet: [no-hardhat]
"""


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "ppe_prompts.yaml"
    path.write_text(PROMPTS)
    return path


def test_load_prompts(prompts_file: Path) -> None:
    prompts = load_prompts(prompts_file)
    assert prompts.person == ("person", "worker")
    assert dict(prompts.equipment) == {
        "helmet": ("helmet", "hardhat"),
        "safety vest": ("safety vest", "vest"),
        "gloves": ("gloves",),
    }
    assert dict(prompts.missing) == {"helmet": ("no-hardhat",)}


def test_resolves_against_a_ppe_model(prompts_file: Path) -> None:
    ids = check_ppe_classes(load_prompts(prompts_file), PPE_MODEL, ["helmet", "safety_vest"])
    assert ids.person == (0,)
    assert ids.equipment["helmet"] == (1,)
    assert ids.missing["helmet"] == (2,)
    assert ids.equipment["safety vest"] == (3,)
    assert ids.equipment["gloves"] == ()  # declared, not required, not in the model


def test_model_without_the_equipment_is_a_config_error(prompts_file: Path) -> None:
    with pytest.raises(DetectorConfigError) as caught:
        check_ppe_classes(
            load_prompts(prompts_file), COCO_LIKE, ["helmet", "Safety Vest"], "yolo11n.onnx"
        )
    message = str(caught.value)
    assert "no matching class in yolo11n.onnx" in message
    also = "; with/no/without forms and common synonyms too)"
    assert f"'helmet' (looked for: helmet, hardhat, no-hardhat{also}" in message
    assert f"'Safety Vest' (looked for: safety vest, vest{also}" in message
    assert "person, bicycle, car, dog, backpack" in message


def test_a_missing_class_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("equipment: {helmet: [hardhat]}\nmissing: {helmet: [NO-Hardhat]}\n")
    ids = check_ppe_classes(load_prompts(path), ("person", "NO-Hardhat"), ["helmet"])
    assert ids.equipment["helmet"] == () and ids.missing["helmet"] == (1,)


def test_required_equipment_not_in_the_prompts(prompts_file: Path) -> None:
    with pytest.raises(
        DetectorConfigError, match=r"'boots' is not declared in prompts file .*ppe_prompts.yaml"
    ):
        check_ppe_classes(load_prompts(prompts_file), PPE_MODEL, ["boots"])


def test_model_without_person_class(prompts_file: Path) -> None:
    with pytest.raises(
        DetectorConfigError, match=r"no class of the model matches person \(person, worker"
    ):
        check_ppe_classes(load_prompts(prompts_file), ("hardhat", "vest"), ["helmet"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("42\n", "must be a list of prompts, a mapping of name to synonyms"),
        ("equipment: {helmet: [helmet]}\nshoes: [boot]\n", "unknown key 'shoes'"),
        ("person: [person]\n", "no equipment prompt"),
        ("person: [person]\nmissing: {helmet: [no helmet]}\n", "missing key 'equipment'"),
        ("equipment: {}\n", "equipment must map equipment names"),
        ("equipment: {helmet: []}\n", "equipment.helmet must be a class name or a non-empty list"),
        ("equipment: {helmet: [1, 2]}\n", "equipment.helmet must be"),
        ("equipment: {helmet: [helmet]}\nmissing: {vest: [no vest]}\n", "missing.vest names"),
        ("equipment: {helmet: [helmet]\n", "not valid YAML"),
        ("person: []\nequipment: {helmet: [helmet]}\n", "person must be"),
    ],
)
def test_bad_prompts_files_name_the_file_and_key(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad_prompts.yaml"
    path.write_text(content)
    with pytest.raises(DetectorConfigError, match=expected) as caught:
        load_prompts(path)
    assert "bad_prompts.yaml" in str(caught.value)


def test_missing_prompts_file(tmp_path: Path) -> None:
    with pytest.raises(DetectorConfigError, match=r"prompts file not found: .*absent.yaml"):
        load_prompts(tmp_path / "absent.yaml")
