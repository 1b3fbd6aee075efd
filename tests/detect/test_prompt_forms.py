"""The prompts file in each of its forms (roles, a list of prompts, name -> synonyms), resolved
against real class tables: a helmet head model (`With Helmet` / `Without Helmet`), a hard-hat
dataset model (`Hardhat` / `NO-Hardhat`), and the merged table of two models."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.detect import Detections, DetectorConfigError, load_prompts, merge_detections
from atalaia.detect.ppe import PpePrompts, check_ppe_classes, default_region, match_prompts_in

HELMET_MODEL = ("With Helmet", "Without Helmet")
HARDHAT_MODEL = ("Person", "Hardhat", "NO-Hardhat", "Safety Vest", "NO-Safety Vest", "Mask")
COCO = ("person", "bicycle", "car")


def prompts_file(tmp_path: Path, text: str) -> PpePrompts:
    path = tmp_path / "ppe.yaml"
    path.write_text(text)
    return load_prompts(path)


@pytest.mark.parametrize(
    "text",
    ["[person, helmet, vest]\n", "prompts: [helmet, vest]\n", "- helmet\n- vest\n"],
)
def test_a_list_of_prompts(tmp_path: Path, text: str) -> None:
    prompts = prompts_file(tmp_path, text)
    assert prompts.person == ("person",)
    assert dict(prompts.equipment) == {"helmet": ("helmet",), "vest": ("vest",)}
    ids = check_ppe_classes(prompts, COCO + HELMET_MODEL, ["helmet"])
    assert ids.person == (0,)
    assert ids.equipment["helmet"] == (3,)  # With Helmet
    assert ids.missing["helmet"] == (4,)  # Without Helmet
    assert ids.regions == {"helmet": "head", "vest": "torso"}


def test_a_list_item_may_carry_its_synonyms(tmp_path: Path) -> None:
    prompts = prompts_file(tmp_path, "- helmet: [helmet, hardhat]\n- gloves\n")
    assert prompts.equipment["helmet"] == ("helmet", "hardhat")
    assert prompts.key("helmet") == "[0].helmet" and prompts.key("gloves") == "[1]"


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_mapping_of_name_to_synonyms(tmp_path: Path, wrapped: bool) -> None:
    body = (
        "person: [person, worker]\n"
        "helmet: [helmet, hard hat, hardhat]\n"
        "vest: {classes: [safety vest], region: torso}\n"
        "harness: {classes: [harness], missing: [unclipped], region: any}\n"
    )
    if wrapped:
        body = "prompts:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    prompts = prompts_file(tmp_path, body)
    assert prompts.person == ("person", "worker")
    assert prompts.equipment["helmet"] == ("helmet", "hard hat", "hardhat")
    assert prompts.missing == {"harness": ("unclipped",)}
    assert prompts.region("harness") == "any"  # said so, though a harness is worn on the torso
    ids = check_ppe_classes(prompts, HARDHAT_MODEL, ["helmet", "vest"])
    assert ids.person == (0,)
    assert (ids.equipment["helmet"], ids.missing["helmet"]) == ((1,), (2,))  # NO-Hardhat
    assert (ids.equipment["vest"], ids.missing["vest"]) == ((3,), (4,))  # NO-Safety Vest
    assert prompts.key("vest") == ("prompts.vest" if wrapped else "vest")


def test_the_roles_form_still_works_and_takes_regions(tmp_path: Path) -> None:
    prompts = prompts_file(
        tmp_path,
        "person: [worker]\n"
        "equipment: {helmet: [hardhat], mask: [Mask]}\n"
        "missing: {helmet: [bare head]}\n"
        "regions: {mask: any}\n",
    )
    ids = check_ppe_classes(prompts, ("worker", "hardhat", "bare head", "Mask"), ["helmet"])
    assert ids.person == (0,) and ids.equipment["helmet"] == (1,)
    assert ids.missing["helmet"] == (2,)
    assert ids.regions == {"helmet": "head", "mask": "any"}
    assert prompts.key("helmet") == "equipment.helmet"


def test_default_regions_come_from_the_names() -> None:
    assert [default_region(n) for n in ("helmet", "Hard Hat", "face_shield", "cap")] == ["head"] * 4
    assert [default_region(n) for n in ("vest", "Safety Vest", "hi-vis jacket")] == ["torso"] * 3
    assert [default_region(n) for n in ("gloves", "boots")] == ["any", "any"]
    assert default_region("ppe_top", ["hardhat"]) == "head"  # a synonym decides too


def test_resolved_against_two_merged_models(tmp_path: Path) -> None:
    """A prompt may match classes of several models; persons come from the first model that
    has any (or the rule's persons_from)."""
    table = merge_detections(
        [("default", Detections.empty(COCO)), ("ppe", Detections.empty(HARDHAT_MODEL))]
    )
    prompts = prompts_file(tmp_path, "[helmet, safety vest]\n")
    ids = check_ppe_classes(prompts, table.class_names, ["helmet"], class_models=table.class_models)
    assert ids.person == (0,) and ids.person_model == "default"
    chosen = check_ppe_classes(
        prompts,
        table.class_names,
        ["helmet"],
        class_models=table.class_models,
        persons_from="ppe",
    )
    assert chosen.person == (3,) and chosen.person_model == "ppe"  # ppe's "Person"
    matches = match_prompts_in(prompts, table.class_names)
    assert matches["helmet"].worn == (4,) and matches["helmet"].missing == (5,)  # (NO-)Hardhat
    assert matches["safety vest"].worn == (6,) and matches["safety vest"].missing == (7,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]\n", r"\(top level\): expected at least one prompt"),
        ("[helmet, 3]\n", r"\[1\]: expected a prompt"),
        ("prompts: [helmet]\nhelmet: [x]\n", "unknown key 'helmet' next to 'prompts'"),
        ("helmet: {classes: [helmet], colour: red}\n", r"helmet.colour: unknown key"),
        ("helmet: {region: feet}\n", r"helmet.region: expected one of head, torso, any"),
        ("equipment: {helmet: [x]}\nregions: {vest: torso}\n", r"regions.vest: names equipment"),
        ("[helmet, Helmet]\n", r"\[1\]: equipment 'Helmet' is declared twice \(also \[0\]\)"),
        ("person: [worker]\n", "no equipment prompt"),
        ("prompts: 7\n", "prompts: expected a list of prompts or a mapping"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(DetectorConfigError, match=expected) as caught:
        prompts_file(tmp_path, text)
    assert "ppe.yaml" in str(caught.value)


def test_every_form_gives_a_yolo_world_vocabulary(tmp_path: Path) -> None:
    """`models export --prompts` reads the same files: the names each form mentions."""
    from atalaia.export.vocabulary import read_vocabulary

    path = tmp_path / "ppe.yaml"
    path.write_text(
        "person: [worker]\nhelmet: [helmet, hard hat]\nvest: {classes: [safety vest]}\n"
    )
    assert read_vocabulary(path) == ("worker", "helmet", "hard hat", "safety vest")
    path.write_text("prompts: [helmet, vest]\n")
    assert read_vocabulary(path) == ("person", "helmet", "vest")
    path.write_text("[person, helmet]\n")
    assert read_vocabulary(path) == ("person", "helmet")
