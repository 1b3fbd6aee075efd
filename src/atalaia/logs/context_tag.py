"""A log tag carried by the running code rather than passed to each call: a sink's name.

A sink's lines come from its dispatcher, from the sink itself and from its client library's
tasks, callbacks and worker threads (aiomqtt/paho, aio-pika), none of which can be handed an
`extra={"camera_id": ...}`. Asyncio tasks and `asyncio.to_thread` copy the context they were
created in, so a tag set in the context a sink's tasks start from reaches every line logged on
its behalf; without it those lines would carry the process tag (`SUPERVISOR`).
"""

from __future__ import annotations

import contextvars

_current_tag: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "atalaia_log_tag", default=None
)


def current_tag() -> str | None:
    """The tag set for the running code, or None (then the process's tag applies)."""
    return _current_tag.get()


def tagged_context(tag: str) -> contextvars.Context:
    """A copy of the current context with `tag` set: pass it to `asyncio.create_task(...,
    context=...)` or `Context.run` so everything started there logs under `tag`."""
    context = contextvars.copy_context()
    context.run(_current_tag.set, tag)
    return context
