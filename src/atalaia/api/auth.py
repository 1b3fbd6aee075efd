"""The API token: one shared secret for every mutating call, the API's reads and the UI.

Security by default: when no token is configured, the first start generates one, shows it once
on the console (never in the log file) and keeps only its SHA-256 hash, in the database: every
node sharing the database accepts the same token, and a copy of the data directory or of the
database does not leak a usable one. The token is random (256 bits), so a plain hash is
enough; a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status
from sqlalchemy.exc import SQLAlchemyError

from atalaia.config import AtalaiaConfig
from atalaia.redact import mask_secrets
from atalaia.storage.db import Database, StorageError
from atalaia.storage.settings import API_TOKEN_SHA256, get_or_claim_setting, get_setting

log = logging.getLogger(__name__)

# The hash file older versions kept in the data directory; moved into the database on upgrade.
TOKEN_FILE = "api_token.sha256"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
COOKIE = "atalaia_token"
HEADER = "X-API-Token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenCheck:
    """Compares presented tokens with the stored hash in constant time."""

    digest: str

    def valid(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(_digest(token or ""), self.digest)


def load_or_create_token(
    database: Database, data_dir: Path, configured: str | None
) -> tuple[TokenCheck, str | None]:
    """The token check, and the new token when one was just generated (to show once).

    A configured token wins; otherwise the hash stored in the database (migrated, which is the
    caller's part), shared by every node on it; otherwise the hash file older versions kept in
    the data directory, moved into the database; otherwise a new token is made and its hash
    stored. Nodes starting together on one database agree on one token: only the node whose
    hash was stored shows its token.
    """
    if configured:
        return TokenCheck(_digest(configured)), None
    with database.session() as session:
        stored = get_setting(session, API_TOKEN_SHA256)
        if stored is not None:
            return TokenCheck(stored), None
        legacy = data_dir / TOKEN_FILE
        if legacy.exists():
            digest = legacy.read_text(encoding="ascii").strip()
            if not _SHA256_HEX.fullmatch(digest):
                raise ValueError(f"{legacy}: expected the SHA-256 hex digest of the API token")
            stored, _ = get_or_claim_setting(session, API_TOKEN_SHA256, digest)
            return TokenCheck(stored), None
        token = secrets.token_urlsafe(32)
        stored, claimed = get_or_claim_setting(session, API_TOKEN_SHA256, _digest(token))
        return TokenCheck(stored), token if claimed else None


def token_for_config(config: AtalaiaConfig, database: Database) -> tuple[TokenCheck, str | None]:
    """`load_or_create_token` for a service about to start; migrates the database first.

    When the database cannot be used the service still starts, so that its health says why
    (the background manager reports the same failure), but no token is accepted: there is no
    stored hash to compare with, and inventing a token would split the installation's one.
    """
    configured = config.server.token.get_secret_value() if config.server.token else None
    if configured:
        return TokenCheck(_digest(configured)), None
    try:
        database.migrate()
        return load_or_create_token(database, config.data_dir, None)
    except (StorageError, SQLAlchemyError) as exc:
        log.error(
            "API token unavailable, every authenticated call is refused: %s",
            mask_secrets(f"{type(exc).__name__}: {exc}"),
        )
        return TokenCheck(""), None


def announce_token(token: str) -> None:
    """Print a freshly generated token once, on the console only."""
    print(
        "\n  atalaia generated an API token (shown only now; only its hash is kept):\n"
        f"    {token}\n  Use it as 'Authorization: Bearer <token>' or set server.token.\n",
        file=sys.stderr,
        flush=True,
    )


def presented_token(request: Request) -> str | None:
    """`Authorization: Bearer`, `X-API-Token`, or the UI's cookie."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get(HEADER) or request.cookies.get(COOKIE)


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the token."""
    check: TokenCheck = request.app.state.token_check
    if not check.valid(presented_token(request)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
