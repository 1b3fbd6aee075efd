"""Secret-free error text for sink status and logs.

Sink errors quote what the library said, and libraries quote URLs, headers and sometimes the
credentials themselves; everything a sink reports goes through `describe_error`, which masks
both what looks like a secret and the literal secrets of the sink's own config (found by
`atalaia.redact_config`'s walk: SecretStr values, URL passwords, fields named like secrets).
"""

from __future__ import annotations

from pydantic import BaseModel

from atalaia.redact import mask_secrets
from atalaia.redact_config import config_secrets

__all__ = ["describe_error", "secret_values"]


def secret_values(config: BaseModel) -> list[str]:
    """Every secret a sink's config holds, longest first."""
    return config_secrets(config)


def describe_error(exc: BaseException, secrets: list[str]) -> str:
    """`Type: message`, masked; an exception with no message is named by its type alone."""
    text = str(exc).strip()
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return mask_secrets(described, secrets)
