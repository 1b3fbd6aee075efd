"""Load the configuration: YAML file, then `ATALAIA_*` environment overrides, then validation.

Every failure becomes a `ConfigError` naming the file or variable, the key path and the line,
so a person can fix the file without reading a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from atalaia.config.app import SEED_SUPERVISOR_KEYS, AtalaiaConfig, KeyedValueError
from atalaia.config.errors import ConfigError, ConfigProblem, Loc, clean_loc, describe, format_path
from atalaia.config.roi_merge import RoiSource, merge_roi
from atalaia.redact import mask_secrets, mask_url

ENV_PREFIX = "ATALAIA_"
# Variables with the prefix that are not configuration keys (`ATALAIA_VIEWER_TOKEN`: the
# desktop viewer's token, which a user may export in the shell that also runs the service).
ENV_RESERVED = ("ATALAIA_CONFIG", "ATALAIA_TEST_", "ATALAIA_VIEWER_")


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    roi: RoiSource | None = None,
) -> AtalaiaConfig:
    """Read `path` (if any), apply `ATALAIA_*` overrides from `env`, merge the ROI polygons
    (the file's `roi:` key, or `roi` from the command line instead) into the cameras' zones,
    validate. The merge comes before validation so that rules can name ROI zones."""
    env = os.environ if env is None else env
    origin = str(path) if path is not None else "defaults"
    data: dict[str, Any] = {}
    lines: dict[Loc, int] = {}
    if path is not None:
        data, lines = _read_yaml(Path(path))
    _expand_source_shorthand(data)
    env_origin = _apply_env(data, env)
    problems = merge_roi(data, lines, origin, roi)
    try:
        config = AtalaiaConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + _problems(exc, data, lines, origin, env_origin)) from None
    if problems:
        raise ConfigError(problems)
    return config


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), "", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError(
            [ConfigProblem(str(path), "", "expected a file, got a directory")]
        ) from None
    except PermissionError:
        raise ConfigError(
            [ConfigProblem(str(path), "", "permission denied reading the file")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    str(path), "", f"expected UTF-8 text ({exc.reason} at byte {exc.start})"
                )
            ]
        ) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read: {exc.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            [ConfigProblem(str(path), "", f"invalid YAML: {problem}", line)]
        ) from None
    if data is None or node is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    "",
                    f"expected a mapping of keys at the top, got {type(data).__name__}",
                    1,
                )
            ]
        )
    lines: dict[Loc, int] = {}
    duplicates: list[ConfigProblem] = []
    _index_lines(node, (), lines, duplicates, str(path))
    if duplicates:
        raise ConfigError(duplicates)
    return data, lines


def _index_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], dupes: list[ConfigProblem], origin: str
) -> None:
    """Record the line of every key and item; PyYAML keeps the last of duplicate keys silently,
    which hides mistakes, so duplicates are reported."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*loc, key)
            if child in lines:
                dupes.append(
                    ConfigProblem(
                        origin,
                        format_path(child),
                        f"duplicate key {key!r} (first at line {lines[child]})",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, dupes, origin)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*loc, i), lines, dupes, origin)


def _expand_source_shorthand(data: dict[str, Any]) -> None:
    """`source: rtsp://...` becomes `source: {url: ...}` before overrides, so that
    `ATALAIA_CAMERAS__0__SOURCE__URL` can replace the URL whichever form the file used."""
    cameras = data.get("cameras")
    for cam in cameras if isinstance(cameras, list) else []:
        if isinstance(cam, dict) and isinstance(cam.get("source"), str):
            cam["source"] = {"url": cam["source"]}


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[Loc, str]:
    """Apply `ATALAIA_SECTION__KEY=value` overrides in place; return which paths they set.

    `__` separates levels (`ATALAIA_SERVER__PORT`, `ATALAIA_CAMERAS__0__SOURCE__URL`); a value
    that starts with `[` or `{` is parsed as YAML/JSON, any other stays a string for pydantic to
    coerce, so a token such as `0123` is never read as a number.
    """
    origins: dict[Loc, str] = {}
    problems: list[ConfigProblem] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_RESERVED):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        origin = f"environment variable {name}"
        if not all(parts):
            problems.append(
                ConfigProblem(origin, "", "expected KEY or SECTION__KEY after ATALAIA_")
            )
            continue
        raw = env[name]
        value: Any = raw
        if raw.strip()[:1] in ("[", "{"):
            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError:
                problems.append(ConfigProblem(origin, "", "expected a YAML/JSON list or mapping"))
                continue
        elif raw.strip() in ("null", "~"):
            value = None
        try:
            loc = _set_path(data, parts, value)
        except KeyError as exc:
            problems.append(ConfigProblem(origin, format_path(tuple(parts)), str(exc.args[0])))
            continue
        origins[loc] = origin
    if problems:
        raise ConfigError(problems)
    return origins


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> Loc:
    node: Any = data
    loc: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: str | int = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(
                    f"expected an index below {len(node)} into {format_path(tuple(loc))}"
                )
            key = int(part)
        elif not isinstance(node, dict):
            raise KeyError(f"{format_path(tuple(loc))} is not a section")
        loc.append(key)
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                if parts[i + 1].isdigit():
                    raise KeyError(f"set the list {format_path(tuple(loc))} in the file first")
                node[key] = {}
            node = node[key]
    return tuple(loc)


def _problems(
    exc: ValidationError,
    data: dict[str, Any],
    lines: dict[Loc, int],
    file_origin: str,
    env_origin: dict[Loc, str],
) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        ctx_error = (error.get("ctx") or {}).get("error")
        loc: Loc = tuple(error["loc"])
        if isinstance(ctx_error, KeyedValueError):
            loc = (*loc, *ctx_error.loc)
        loc = clean_loc(loc, data)
        loc, message = describe(error, loc, AtalaiaConfig, data)
        loc = _as_written(loc, data)
        origin = next(
            (o for key, o in env_origin.items() if key[: len(loc)] == loc[: len(key)]),
            file_origin,
        )
        line = _line_for(loc, lines) if origin == file_origin else None
        out.append(ConfigProblem(origin, format_path(loc), message, line))
    return out


def _as_written(loc: Loc, data: dict[str, Any]) -> Loc:
    """Report a seed key (`supervisor_max_restarts`) under the name the user wrote."""
    for flat, key in SEED_SUPERVISOR_KEYS.items():
        if loc[:2] == ("supervisor", key) and flat in data:
            return (flat, *loc[2:])
    return loc


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the deepest part of `loc` that the file has (a missing key: its parent)."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def masked_dump(config: AtalaiaConfig) -> dict[str, Any]:
    """The effective configuration as plain data with every secret masked.

    SecretStr fields are already hidden by pydantic; URLs and free text are masked as well
    because a camera URL carries its password inline.
    """
    secrets = config.secrets()

    def mask(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: mask(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mask(v) for v in node]
        if isinstance(node, str):
            return mask_secrets(mask_url(node) if "://" in node else node, secrets)
        return node

    result: dict[str, Any] = mask(config.model_dump(mode="json"))
    return result


def render_yaml(config: AtalaiaConfig) -> str:
    """`config check` output: the effective configuration, masked, as YAML."""
    return yaml.safe_dump(json.loads(json.dumps(masked_dump(config))), sort_keys=False)
