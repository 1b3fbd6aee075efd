"""Masking of secrets in text: passwords in URLs, tokens in query strings and headers.

One place decides what a secret looks like, so the log writer, `config check`, the API and
camera status messages all hide the same things the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

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


def mask_url_passwords(text: str) -> str:
    """Only the `scheme://user:password@` part of `mask_secrets`: safe on any user text.

    The key=value and `Basic xxx` patterns of `mask_secrets` would also rewrite ordinary words
    (a zone called "Basic entrance"); text that a client may send back, such as API responses,
    gets this narrower pass plus the literal secrets (`mask_known`).
    """
    if "://" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", text)


def mask_known(text: str, known: Iterable[str]) -> str:
    """Replace each literal secret of `known` (longest first, as given) by `***`.

    Values shorter than 4 characters are ignored, as in `mask_secrets`.
    """
    for value in known:
        if len(value) >= 4 and value in text:
            text = text.replace(value, MASK)
    return text


def url_secrets(url: str) -> list[str]:
    """The secret parts of one URL: its password (as written and percent-decoded) and the
    values of secret query parameters (`token=`, `api_key=`...)."""
    if "://" not in url:
        return []
    found: list[str] = []
    try:
        parts = urlsplit(url.strip())
        password = parts.password
    except ValueError:
        parts, password = None, None
    if password is None:
        # Unparseable, or a password holding '@' or '/' that urlsplit splits elsewhere: the
        # same greedy pattern as masking decides what the password is.
        match = _URL_USERINFO.search(url)
        password = match.group("pw") if match else None
    if password:
        found.append(password)
        decoded = unquote(password)
        if decoded != password:
            found.append(decoded)
    query = parts.query if parts is not None else url
    found.extend(m.group("value") for m in _KEY_VALUE.finditer(query))
    return found
