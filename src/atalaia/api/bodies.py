"""JSON request bodies parsed and validated in a worker thread, with errors located like
`config check` reports them.

FastAPI parses and validates a declared body on the event loop. A camera body of a megabyte
holds tens of thousands of zones, each with a polygon check: validated there, it would hold up
health checks, metrics and alert delivery for as long as it takes. So the camera endpoints read
the raw body (its size capped by `limits.BodySizeLimit`) and hand parsing and validation to a
thread; the OpenAPI schema still documents the body (`body_schema`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError

from atalaia.config.app import KeyedValueError
from atalaia.config.errors import Loc, clean_loc, describe

T = TypeVar("T")
UNPROCESSABLE = 422
_MAX_MESSAGE = 500  # a message quoting a huge value stays readable


def _problem(loc: Loc, message: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": message, "type": kind}


def parse_json(raw: bytes) -> Any:
    """The body as JSON, or a 422 that says why it is not."""
    if not raw.strip():
        raise HTTPException(UNPROCESSABLE, [_problem(("body",), "expected a JSON body", "missing")])
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        message = f"expected UTF-8 JSON ({exc.reason} at byte {exc.start})"
        raise HTTPException(UNPROCESSABLE, [_problem(("body",), message, "json_invalid")]) from None
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        problem = _problem(("body", exc.pos), message, "json_invalid")
        raise HTTPException(UNPROCESSABLE, [problem]) from None
    except RecursionError:
        message = "invalid JSON: nested too deeply"
        raise HTTPException(UNPROCESSABLE, [_problem(("body",), message, "json_invalid")]) from None


def validation_detail(
    exc: ValidationError, root: type[BaseModel], raw: Any, body_at: Loc = ()
) -> list[dict[str, Any]]:
    """Pydantic's errors as the API answers them: each at the exact key (cross-field errors
    included), with the message `config check` gives and without echoing the input.

    `raw` is what was validated against `root`; the request body sits at `body_at` inside it
    (a camera's zones are validated as part of the camera), and locations under it are shown
    from `body`, others as keys of the whole camera.
    """
    detail = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, KeyedValueError):
            loc = (*loc, *ctx_error.loc)
        loc, message = describe(error, clean_loc(loc, raw), root, raw)
        if loc[: len(body_at)] == body_at:
            loc = ("body", *loc[len(body_at) :])
        if len(message) > _MAX_MESSAGE:
            message = message[:_MAX_MESSAGE] + "..."
        detail.append(_problem(loc, message, error["type"]))
    return detail


class _CollectorPause:
    """Automatic garbage collection off while bodies are parsed, re-enabled by the last one.

    A megabyte of JSON parses into some hundred thousand lists and dicts. Allocated that fast,
    they make the collector run full collections over the whole service heap, each of them
    tens of milliseconds holding the GIL: the event loop stops answering although the work is
    in another thread. The parsed body has no reference cycles, so reference counting frees it
    all once it is validated; the collector is resumed only then and finds nothing to do.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._resume = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._resume:
                    gc.enable()


_COLLECTOR = _CollectorPause()


async def validated_body(request: Request, validate: Callable[[Any], T]) -> T:
    """Read the body, then parse and validate it in a worker thread; `validate` raises
    HTTPException (422) for what it refuses."""
    raw = await request.body()

    def work() -> T:
        with _COLLECTOR.paused():
            try:
                return validate(parse_json(raw))
            except HTTPException as exc:
                # Kept past this block, its traceback would keep the parsed body alive.
                refused = (exc.status_code, exc.detail)
        raise HTTPException(*refused)

    return await asyncio.to_thread(work)


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its `$defs` references replaced by the definitions, so it stands on
    its own inside an OpenAPI operation (the configuration models are not recursive)."""
    defs: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                merged = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[ref.removeprefix("#/$defs/")], **merged})
            out = {k: resolve(v) for k, v in node.items() if k != "$defs"}
            if isinstance(out.get("discriminator"), dict):
                out["discriminator"] = {
                    k: v for k, v in out["discriminator"].items() if k != "mapping"
                }
            return out
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for an operation whose JSON body is read by `validated_body`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(schema)}},
        }
    }


class LazyBody(dict[str, Any]):
    """`openapi_extra` (`body_schema`) made again each time an app makes its OpenAPI document
    (`refresh_bodies`): a body holding plugin configs (rules, sinks) then lists the types
    registered by then, a deployment's own included, not only those there at import."""

    made: ClassVar[list[LazyBody]] = []

    def __init__(self, schema: Callable[[], dict[str, Any]]) -> None:
        super().__init__(body_schema(schema()))
        self._schema = schema
        LazyBody.made.append(self)

    def refresh(self) -> None:
        fresh = body_schema(self._schema())
        self.clear()
        self.update(fresh)


def refresh_bodies() -> None:
    """Every `LazyBody` made again from the plugins registered now."""
    for body in LazyBody.made:
        body.refresh()
