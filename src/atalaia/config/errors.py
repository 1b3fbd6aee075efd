"""Configuration errors a person can act on: which file (or environment variable), which key,
which line, and what was expected."""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from atalaia.plugins import PluginUnion
from atalaia.redact import mask_secrets

Loc = tuple[str | int, ...]
_SECRET_KEY = re.compile(r"password|token|secret|api_?key", re.IGNORECASE)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the configuration, located as precisely as the source allows."""

    origin: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return (
            f"{self.origin}: {where}: {self.message}" if where else f"{self.origin}: {self.message}"
        )


class ConfigError(Exception):
    """The configuration cannot be used. The CLI prints it and exits with status 2."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        head = "invalid configuration" + (
            f" ({len(self.problems)} problems)" if len(self.problems) > 1 else ""
        )
        return head + ":\n" + "\n".join(f"  {p}" for p in self.problems)


def format_path(loc: Loc) -> str:
    """`('cameras', 2, 'source', 'url')` -> `cameras[2].source.url`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def clean_loc(loc: Loc, raw: Any) -> Loc:
    """Drop the parts of a pydantic location that are not keys of the user's data.

    Discriminated unions insert the chosen tag (`sinks.0.mqtt.port`); walking the raw data
    tells such a tag apart from a real key, so paths match what the user wrote.
    """
    out: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                out.append(part)
                node = node[part]
                continue
            if part == node.get("type"):
                continue
            out.append(part)
            node = None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(part)
            node = None
    return tuple(out)


def _model_at(root: type[BaseModel], loc: Loc, raw: Any) -> type[BaseModel] | None:
    """The model class that owns the keys at `loc`, resolved through lists, dicts and unions."""
    current: Any = root
    node = raw
    for part in loc:
        current = _unwrap(current, node)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (list, dict, tuple):
            args = typing.get_args(current)
            current = args[-1] if args else Any
        else:
            return None
        node = (
            node.get(part)
            if isinstance(node, dict)
            else (
                node[part]
                if isinstance(node, list) and isinstance(part, int) and part < len(node)
                else None
            )
        )
    current = _unwrap(current, node)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any, node: Any) -> Any:
    """Strip Annotated/Optional; pick a union member by the data's `type` tag (for a plugin
    union, `atalaia.plugins`, the model registered for that tag)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp, *metadata = typing.get_args(tp)
            for meta in metadata:
                model = meta.model_for(node) if isinstance(meta, PluginUnion) else None
                if model is not None:
                    return model
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tagged = [
                m
                for m in members
                if isinstance(m, type)
                and issubclass(m, BaseModel)
                and isinstance(node, dict)
                and "type" in m.model_fields
                and node.get("type") in typing.get_args(m.model_fields["type"].annotation)
            ]
            if tagged:
                return tagged[0]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def describe(error: ErrorDetails, loc: Loc, root: type[BaseModel], raw: Any) -> tuple[Loc, str]:
    """Turn one pydantic error into (location, message that says what was expected)."""
    kind = error["type"]
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        model = _model_at(root, loc[:-1], raw)
        msg = f"unknown key {key!r}"
        if model is not None:
            allowed = list(model.model_fields)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            msg += f"; did you mean {close[0]!r}?" if close else ""
            msg += f" Expected one of: {', '.join(allowed)}"
        return loc, msg
    if kind == "missing":
        return loc, f"missing required key {key!r}"
    if kind == "union_tag_not_found":
        return (*loc, "type"), "missing key 'type' that says which kind of plugin this is"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        return (*loc, "type"), (
            f"expected one of {ctx.get('expected_tags', '')}; got {ctx.get('tag', '')!r}"
        )
    msg = error["msg"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, Exception):
        msg = str(ctx_error)
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    msg = re.sub(r"^Input should be ", "expected ", msg)
    msg = msg[:1].lower() + msg[1:]
    value = error.get("input")
    if (
        not _SECRET_KEY.search(str(key))
        and not isinstance(value, dict | list)
        and kind != "value_error"
    ):
        msg += f"; got {value!r}"
    return loc, mask_secrets(msg)
