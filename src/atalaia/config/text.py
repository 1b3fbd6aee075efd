"""Text the database can store.

PostgreSQL refuses a NUL character in any text value, and neither database driver can encode a
lone surrogate (`"\\ud800"` is valid JSON but not UTF-8). Such text would fail deep inside a
database call and surface as a server error, so configuration and API input are checked up
front and refused with the key that holds it.
"""

from __future__ import annotations

import json
import re
from typing import Any

Loc = tuple[str | int, ...]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In JSON text from `json.dumps(..., ensure_ascii=False)`: an escaped NUL or a raw surrogate.
_UNSTORABLE_IN_JSON = re.compile("\\\\u0000|[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why the database cannot store `text`, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text with a NUL character (\\u0000) cannot be stored; remove it"
    return (
        f"text with a lone surrogate (\\u{ord(found.group()):04x}) is not valid UTF-8 and "
        "cannot be stored; send the whole character"
    )


def find_unstorable(data: Any, loc: Loc = ()) -> tuple[Loc, str] | None:
    """The first key or value under `data` (JSON-like: dicts, lists, strings) that the database
    cannot store, with its location and the reason; None when all of it can be stored.

    Iterative, so a deeply nested body cannot exhaust the stack; linear in the size of `data`.
    """
    if not _may_hold_unstorable(data):
        return None
    stack: list[tuple[Loc, Any]] = [(loc, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem is not None:
                return where, problem
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem is not None:
                        shown = key.encode("unicode_escape").decode("ascii")
                        return (*where, shown), f"key: {problem}"
                stack.append(((*where, key), value))
        elif isinstance(node, list | tuple):
            stack.extend(((*where, i), item) for i, item in reversed(list(enumerate(node))))
    return None


def _may_hold_unstorable(data: Any) -> bool:
    """A quick look before the walk: serialised in C, JSON escapes a NUL as `\\u0000` and
    keeps a lone surrogate as it is, so text with neither holds nothing to find. A false alarm
    (a literal backslash and `u0000`, data JSON cannot serialise) only costs the walk."""
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return True
    return _UNSTORABLE_IN_JSON.search(text) is not None
