"""Sink plugins by `type`: the same string that discriminates the sink's config.

Every sink, built-in or a deployment's own, is one module with its config model and its
implementation, registered together:

```python
class KafkaSinkConfig(SinkBase):
    type: Literal["kafka"]
    brokers: list[str]

@register_sink_type(KafkaSinkConfig)
class KafkaSink:  # (config, name, context) -> a `Sink`
    ...
```

Registered before the configuration is loaded, `type: kafka` is then accepted in `sinks:` and
built by `build_sink` like any built-in. The registry itself is `SINK_PLUGINS`
(`atalaia.config.sinks`), where the configuration looks types up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from atalaia.config.sinks import SINK_PLUGINS, SinkBase
from atalaia.sinks.base import Sink, SinkContext, SinkFactory

F = TypeVar("F", bound=SinkFactory)


def register_sink_type(config: type[SinkBase]) -> Callable[[F], F]:
    """Decorator: make `type: <config's type>` in `sinks:` validate with `config` and build
    its sink with the decorated factory `(config, name, context) -> Sink` (or class)."""

    def register(factory: F) -> F:
        SINK_PLUGINS.register(config, factory)
        return factory

    return register


def sink_types() -> list[str]:
    """Every type a config may name: the built-ins and any registered since."""
    return SINK_PLUGINS.types()


def build_sink(config: SinkBase, name: str, context: SinkContext) -> Sink:
    """The sink for one entry of `sinks:`; `name` is its unique name in the configuration."""
    return SINK_PLUGINS.implementation(config.type)(config, name, context)
