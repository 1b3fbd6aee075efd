"""The API token: one shared secret for every mutating call, the API's reads and the UI.

Security by default: when no token is configured, the first start generates one, shows it once
on the console (never in the log file) and keeps only its SHA-256 hash in the data directory,
so a copy of the data directory does not leak a usable token. The token is random (256 bits),
so a plain hash is enough; a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status

TOKEN_FILE = "api_token.sha256"
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


def load_or_create_token(data_dir: Path, configured: str | None) -> tuple[TokenCheck, str | None]:
    """The token check, and the new token when one was just generated (to show once).

    A configured token wins; otherwise the stored hash; otherwise a new token is made and its
    hash written with permissions 0600.
    """
    if configured:
        return TokenCheck(_digest(configured)), None
    path = data_dir / TOKEN_FILE
    if path.exists():
        return TokenCheck(path.read_text(encoding="ascii").strip()), None
    token = secrets.token_urlsafe(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(_digest(token) + "\n")
    return TokenCheck(_digest(token)), token


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
