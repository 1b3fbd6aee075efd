"""The base of every configuration model: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr


class StrictModel(BaseModel):
    """A configuration section. A misspelt key is rejected so it cannot be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


def secret_values(config: BaseModel) -> list[str]:
    """Every SecretStr value in a model (nested models, lists and dicts included), so logs and
    error texts can mask the literal secrets, not only what looks like one."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, SecretStr):
            found.append(node.get_secret_value())
        elif isinstance(node, BaseModel):
            for key in type(node).model_fields:
                walk(getattr(node, key))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(config)
    return [value for value in found if value]
