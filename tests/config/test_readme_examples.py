"""The configuration shown in the README is valid configuration: docs cannot drift from the
models unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from atalaia.config.app import AtalaiaConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_yaml_block_in_the_readme_validates() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows no configuration"
    for block in blocks:
        AtalaiaConfig.model_validate(yaml.safe_load(block))
