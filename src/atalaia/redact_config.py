"""Which values of a configuration are secrets, found by walking it rather than listed by hand.

A hand-kept list is what the next sink forgets. The walk takes, anywhere in a pydantic model
(nested models, lists and dict values included):

- every `SecretStr` value (a broker URL kept secret whole, a token, a password);
- the password and secret query parameters of every URL, SecretStr or plain text: a camera's
  `rtsp://user:password@host`, a database URL, a sink's `http://user:password@host`;
- plain-text fields whose name says they hold a secret (`token`, `password`, `api_key`,
  `*_secret`...), for plugins that forget `SecretStr`.

Dict keys are not taken as field names: a mapping such as FindFace's `fields` (`token: token`)
names form fields, and the word "token" is no secret. The result feeds the log writer, sink
error texts, `config check` and the API's response masking (`atalaia.api.masking`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from atalaia.redact import url_secrets

SECRET_FIELD_NAMES = frozenset(
    {
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "api_key",
        "apikey",
        "access_key",
        "secret_key",
        "private_key",
        "key",
    }
)
SECRET_FIELD_SUFFIXES = ("_token", "_password", "_secret", "_api_key", "_secret_key")


def is_secret_field(name: str) -> bool:
    """True for a field name that announces a secret (`routing_key` does not)."""
    lowered = name.lower()
    return lowered in SECRET_FIELD_NAMES or lowered.endswith(SECRET_FIELD_SUFFIXES)


def config_secrets(config: Any) -> list[str]:
    """Every secret value held by `config` (a model, or lists/dicts of them), each once,
    longest first so that masking a long secret is never undone by a shorter one inside it."""
    found: set[str] = set()
    _walk(config, None, found)
    return ordered_secrets(found)


def ordered_secrets(values: Iterable[str]) -> list[str]:
    """Distinct non-empty values, longest first."""
    return sorted({v for v in values if v}, key=lambda v: (-len(v), v))


def _walk(node: Any, field: str | None, found: set[str]) -> None:
    if isinstance(node, SecretStr):
        value = node.get_secret_value()
        found.add(value)
        found.update(url_secrets(value))
    elif isinstance(node, SecretBytes):
        found.add(node.get_secret_value().decode("utf-8", "replace"))
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _walk(getattr(node, name), name, found)
    elif isinstance(node, str):
        if field is not None and is_secret_field(field):
            found.add(node)
        found.update(url_secrets(node))
    elif isinstance(node, list | tuple | set | frozenset):
        for item in node:
            _walk(item, field, found)
    elif isinstance(node, dict):
        for value in node.values():
            _walk(value, None, found)
