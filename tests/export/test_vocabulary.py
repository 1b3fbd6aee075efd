"""`--prompts FILE` for YOLO-World: a PPE prompts file or a labels file."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.export import ExportError
from atalaia.export.vocabulary import read_vocabulary


def test_ppe_prompts_give_every_class_they_name_once(tmp_path: Path) -> None:
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text(
        "person: [person, worker]\n"
        "equipment:\n  helmet: [hard hat, helmet]\n  vest: [safety vest, Hard_Hat]\n"
        "missing:\n  helmet: [no helmet]\n"
    )
    assert read_vocabulary(prompts) == (
        "person",
        "worker",
        "hard hat",
        "helmet",
        "safety vest",
        "no helmet",
    )


def test_labels_files(tmp_path: Path) -> None:
    text = tmp_path / "names.txt"
    text.write_text("person\nhelmet\n\nvest\n")
    assert read_vocabulary(text) == ("person", "helmet", "vest")
    listed = tmp_path / "names.yaml"
    listed.write_text("[person, forklift]\n")
    assert read_vocabulary(listed) == ("person", "forklift")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "prompts file not found"),
        ("person: [person]\nequipment: {}\n", "equipment must map equipment names"),
        ("{unclosed\n", "cannot read prompts file"),
        ("{}\n", "must hold a list of names"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "prompts.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ExportError, match=expected):
        read_vocabulary(path)
