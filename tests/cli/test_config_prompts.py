"""`atalaia config check` and the PPE prompts: the mapping prompt -> model -> class for each
camera, read from the real model files (the built-in YOLO11n's labels, a real ONNX helmet
model's metadata), and each refusal with exit status 2 naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.detect.tiny_models import constant_head_model, rtdetr_head
from typer.testing import CliRunner

from atalaia.cli.main import app

runner = CliRunner()
HELMET_NAMES = {"names": "{0: 'With Helmet', 1: 'Without Helmet'}"}


@pytest.fixture(scope="module")
def helmet_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ONNX model whose metadata names the classes With Helmet / Without Helmet."""
    head = rtdetr_head(300, 2, {0: [0.5, 0.3, 0.1, 0.1, 0.0, 0.9]})
    path = tmp_path_factory.mktemp("models") / "helmet.onnx"
    return constant_head_model(path, [("output0", head)], metadata=HELMET_NAMES)


def site(
    tmp_path: Path,
    helmet_model: Path,
    rule: dict[str, Any] | None = None,
    default: dict[str, Any] | None = None,
    **detect: Any,
) -> Path:
    config = {
        "detectors": {
            "default": {"type": "onnx", **(default or {})},
            "ppe": {"type": "onnx", "model": str(helmet_model)},
        },
        "cameras": [
            {"id": "gate", "source": "demo://people"},  # no PPE rule: not listed
            {
                "id": "floor",
                "source": "demo://people",
                "detect": {"detectors": ["default", "ppe"], **detect},
                "rules": [{"type": "ppe_missing", "required": ["helmet"], **(rule or {})}],
            },
        ],
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def check(config: Path, prompts_text: str | None, tmp_path: Path) -> Any:
    args = ["config", "check", str(config)]
    if prompts_text is not None:
        prompts = tmp_path / "ppe.yaml"
        prompts.write_text(prompts_text)
        args += ["--prompts", str(prompts)]
    return runner.invoke(app, args)


def test_prints_the_mapping_for_each_ppe_camera(tmp_path: Path, helmet_model: Path) -> None:
    config = site(tmp_path, helmet_model, classes=["person", "car"])
    result = check(config, "[person, helmet, vest]\n", tmp_path)
    assert result.exit_code == 2  # vest matches nothing: see the refusal test
    result = check(config, "- helmet: [helmet, hard hat]\n", tmp_path)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    start = lines.index(f"# PPE prompts ({tmp_path / 'ppe.yaml'}): prompt -> model -> class")
    assert lines[start + 1 :] == [
        "# camera 'floor' (models: default, ppe):",
        "#   person -> default: person",
        "#   helmet (head) -> ppe: With Helmet, Without Helmet (missing)",
        "#   rule 'ppe_missing': persons from default, requires helmet; a person with no box: "
        "helmet unknown (unseen: auto)",
        "#   detect.classes [person, car] limits what is shown and stored; the rules see every "
        "class",
    ]
    assert "camera 'gate'" not in result.stdout


def test_the_prompts_key_of_the_file_is_used_without_the_flag(
    tmp_path: Path, helmet_model: Path
) -> None:
    prompts = tmp_path / "mine.yaml"
    prompts.write_text("prompts: {helmet: [helmet]}\n")
    config = site(tmp_path, helmet_model)
    config.write_text(config.read_text() + f"prompts: {prompts}\n")
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert "#   helmet (head) -> ppe: With Helmet, Without Helmet (missing)" in result.stdout


def test_without_a_prompts_file_equipment_names_are_the_prompts(
    tmp_path: Path, helmet_model: Path
) -> None:
    result = check(site(tmp_path, helmet_model), None, tmp_path)
    assert result.exit_code == 0, result.output
    assert "# PPE prompts ((no prompts file)): prompt -> model -> class" in result.stdout


def test_a_prompt_matching_no_class_is_refused(tmp_path: Path, helmet_model: Path) -> None:
    config = site(tmp_path, helmet_model)
    result = check(config, "[person, helmet, vest]\n", tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing is called valid
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"{tmp_path / 'ppe.yaml'}: [2]: prompt 'vest' matches no class of the models of "
        f"camera 'floor' ({config}: cameras[1].detect.detectors: default, ppe)"
    )


def test_a_detector_filter_removing_what_a_rule_needs_is_refused(
    tmp_path: Path, helmet_model: Path
) -> None:
    """The model-level filter starves the rule for every camera; the camera's detect.classes
    never does (it narrows only what is shown), so only the former is refused."""
    config = site(tmp_path, helmet_model, default={"filters": {"classes": ["car"]}})
    result = check(config, "person: [person]\nhelmet: [helmet]\n", tmp_path)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"{config}: detectors.default.filters.classes removes every class prompt 'person' "
        "matches (person), which the ppe_missing rules of camera 'floor' need "
        f"({tmp_path / 'ppe.yaml'}: person)"
    )
    fine = site(tmp_path, helmet_model, classes=["car"])
    assert check(fine, "person: [person]\nhelmet: [helmet]\n", tmp_path).exit_code == 0


def test_rule_keys_are_checked_against_the_prompts_and_models(
    tmp_path: Path, helmet_model: Path
) -> None:
    config = site(tmp_path, helmet_model, rule={"required": ["helmet", "gloves"]})
    result = check(config, "[helmet]\n", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{config}: cameras[1].rules[0].required[1]: 'gloves' is not declared in prompts file "
        f"{tmp_path / 'ppe.yaml'} (declared: helmet)"
    )
    config = site(tmp_path, helmet_model, rule={"persons_from": "yolo"})
    result = check(config, "[helmet]\n", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{config}: cameras[1].rules[0].persons_from: 'yolo' is not one of the models of "
        "camera 'floor' (default, ppe)"
    )
    config = site(tmp_path, helmet_model, rule={"persons_from": "ppe"})
    result = check(config, "[helmet]\n", tmp_path)
    assert result.exit_code == 2
    assert "cameras[1].rules[0].persons_from: model 'ppe' has no class matching person" in (
        result.stderr
    )


def test_a_bad_prompts_file_names_the_file_and_key(tmp_path: Path, helmet_model: Path) -> None:
    result = check(site(tmp_path, helmet_model), "helmet: {region: feet}\n", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"prompts file {tmp_path / 'ppe.yaml'}: helmet.region: expected one of head, torso, "
        "any, got 'feet'"
    )


def test_a_model_without_class_names_is_named(tmp_path: Path, helmet_model: Path) -> None:
    bare = constant_head_model(
        tmp_path / "bare.onnx", [("output0", rtdetr_head(300, 2, {}))], metadata={}
    )
    config = site(tmp_path, bare)
    result = check(config, "[helmet]\n", tmp_path)
    assert result.exit_code == 2
    assert f"{config}: cameras[1].detect.detectors[1]: model {bare} of detector 'ppe'" in (
        result.stderr
    )


def test_unseen_unknown_on_equipment_no_model_reports_missing_is_refused(
    tmp_path: Path,
) -> None:
    """A model that only knows `helmet` never says a head is bare: with `unseen: unknown` the
    rule could never fire; by default (`auto`) an unseen helmet counts as missing there."""
    head = rtdetr_head(300, 1, {0: [0.5, 0.3, 0.1, 0.1, 0.9]})
    worn_only = constant_head_model(
        tmp_path / "hardhat.onnx", [("output0", head)], metadata={"names": "{0: 'helmet'}"}
    )
    prompts = tmp_path / "ppe.yaml"
    result = check(site(tmp_path, worn_only), "[person, helmet]\n", tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "#   rule 'ppe_missing': persons from default, requires helmet; a person with no box: "
        "helmet missing (unseen: auto)"
    ) in result.stdout
    config = site(tmp_path, worn_only, rule={"unseen": "unknown"})
    result = check(config, "[person, helmet]\n", tmp_path)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"{config}: cameras[1].rules[0].unseen: unknown needs a class meaning 'helmet' is NOT "
        f"worn, and no model of camera 'floor' has one ({prompts}: [1]): the rule could never "
        "fire (use unseen: missing)"
    )
