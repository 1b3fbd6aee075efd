"""Masking of secrets in text: passwords in URLs, tokens in query strings and headers.

One place decides what a secret looks like, so the log writer, `config check`, the API and
camera status messages all hide the same things the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://user:password@host -> scheme://user:***@host. The password may itself contain '@'
# (cameras take it unencoded, and FFmpeg splits at the last '@'): the greedy match runs to the
# last '@' before the first '/' or whitespace, so no part of such a password stays visible.
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^\s/]*)@"
)
# token=..., password=..., secret=..., api_key=... in query strings or key=value text.
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:token|access_token|password|passwd|pwd|secret|api[_-]?key|apikey|auth)\b"
    r"\s*[=:]\s*)(?P<q>['\"]?)(?P<value>[^\s&'\",;]+)",
    re.IGNORECASE,
)
# Authorization: Bearer xxx / Basic xxx
_AUTH_HEADER = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]{4,})")


def mask_url(url: str) -> str:
    """Return `url` with any password (and secret query parameters) replaced by `***`.

    The user name stays visible: it helps an operator tell cameras apart, and it is not a
    secret on its own.
    """
    if "@" not in url and not _KEY_VALUE.search(url):
        return url  # nothing to hide; round-tripping could still change it (sqlite:////path)
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secrets(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    query = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('q')}{MASK}", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secrets(text: str, known: Iterable[str] = ()) -> str:
    """Mask every secret found in free text.

    `known` lists literal secret values (a configured token, a broker password) that must never
    appear whatever the context; values shorter than 4 characters are ignored so that masking
    cannot shred ordinary words.
    """
    if not text:
        return text
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)
    out = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('q')}{MASK}", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m.group('key')}{MASK}", out)
    for value in known:
        if value and len(value) >= 4:
            out = out.replace(value, MASK)
    return out
