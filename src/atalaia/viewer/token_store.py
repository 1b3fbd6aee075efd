"""Where the viewer's API token comes from, and where it is kept.

Order: `--token` (kept out of shell history only if the user chooses so), the environment
variable `ATALAIA_VIEWER_TOKEN`, the platform keyring (entry per service URL), and last a
prompt in the window. A token that worked is saved to the keyring when one exists, so the
next start needs none of the others. The token is never logged nor shown.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

TOKEN_ENV = "ATALAIA_VIEWER_TOKEN"
KEYRING_SERVICE = "atalaia-viewer"


def _keyring() -> Any | None:
    """The `keyring` module when a real backend exists; None without one (a bare server or
    a container has only the 'fail' backend)."""
    try:
        module = importlib.import_module("keyring")
        backend = module.get_keyring()
    except Exception:  # no package, or a backend that fails to load
        return None
    if type(backend).__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return None
    return module


def token_from(given: str | None, url: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The first token found without asking the user: flag, environment, keyring."""
    if given:
        return given
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV]
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, url)
    except Exception as exc:  # a locked or broken keyring: ask instead
        log.warning("keyring unavailable: %s", type(exc).__name__)
        return None
    return str(stored) if stored else None


def remember(url: str, token: str) -> bool:
    """Save a token that worked; False when there is no keyring to save it in."""
    keyring = _keyring()
    if keyring is None:
        return False
    try:
        keyring.set_password(KEYRING_SERVICE, url, token)
    except Exception as exc:
        log.warning("could not save the token in the keyring: %s", type(exc).__name__)
        return False
    return True
