"""Masking of a camera URL's password in every message a source or reader produces.

FFmpeg puts the full URL, password included, in its error strings (`Server returned 401
Unauthorized: 'rtsp://admin:s3cret@host/...'`). `atalaia.redact` knows what a URL password
looks like; on top of that a `Masker` knows this camera's literal password, in both its
percent-encoded and decoded forms, so it is masked even where it appears outside a URL.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from atalaia.redact import mask_secrets, mask_url


def url_secrets(url: str) -> tuple[str, ...]:
    """The password in `url` as written and as decoded (both can show up in messages)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    if not password:
        return ()
    return tuple({password, unquote(password)})


class Masker:
    """Masks one camera's secrets in free text; `label` is its URL safe to print."""

    def __init__(self, url: str) -> None:
        self._secrets = url_secrets(url)
        self.label = mask_secrets(mask_url(url), self._secrets)

    def __call__(self, text: str) -> str:
        return mask_secrets(text, self._secrets)
