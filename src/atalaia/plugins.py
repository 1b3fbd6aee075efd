"""Plugins: a config model and its implementation, registered together under the model's `type`.

A plugin is one file. It defines its pydantic config model, whose `type` field is a one-value
`Literal` (the name a configuration file uses), and its implementation (a class or a factory),
and registers the pair once:

```python
class KafkaSinkConfig(SinkBase):
    type: Literal["kafka"]
    brokers: list[str]

@register_sink_type(KafkaSinkConfig)
class KafkaSink: ...
```

Configuration never lists the plugins: a field annotated `Annotated[Base, registry.union()]`
looks the model up in the registry when a document is validated (as Frigate builds its detector
union from the plugins' config classes), so a type a deployment registers before loading its
configuration is accepted like a built-in one. Built-in plugins are named in a `builtins` index
(type -> module) and imported the first time their type is asked for, so a service that never
uses a plugin never pays for its imports.
"""

from __future__ import annotations

import importlib
import threading
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticKnownError, core_schema

ConfigT = TypeVar("ConfigT", bound=BaseModel)
ImplT = TypeVar("ImplT")

TYPE_FIELD = "type"


class UnknownPluginError(ValueError):
    """No plugin of this kind is registered under the asked-for type."""

    def __init__(self, kind: str, type_name: str, known: list[str]) -> None:
        self.kind = kind
        self.type_name = type_name
        self.known = known
        super().__init__(
            f"unknown {kind} type {type_name!r}; expected one of: {', '.join(known) or 'none'}"
        )


@dataclass(frozen=True, slots=True)
class Plugin(Generic[ConfigT, ImplT]):
    """One registered plugin: the name configuration uses, its config model, what runs it."""

    type_name: str
    config: type[ConfigT]
    implementation: ImplT


def type_name_of(config: type[BaseModel]) -> str:
    """The one value of a config model's `type: Literal[...]` field."""
    field = config.model_fields.get(TYPE_FIELD)
    args = typing.get_args(field.annotation) if field is not None else ()
    if field is None or typing.get_origin(field.annotation) is not Literal or len(args) != 1:
        raise TypeError(
            f"{config.__qualname__} needs a field `type: Literal['<name>']` naming its plugin"
        )
    name = args[0]
    if not isinstance(name, str) or not name:
        raise TypeError(f"{config.__qualname__}.type must be a non-empty string literal")
    return name


class PluginRegistry(Generic[ConfigT, ImplT]):
    """The plugins of one kind (sinks, detectors, rules), each a config model and its
    implementation. Thread-safe; registering a type again replaces it (a deployment may
    replace a built-in)."""

    def __init__(
        self, kind: str, base: type[ConfigT], builtins: Mapping[str, str] | None = None
    ) -> None:
        self.kind = kind
        self.base = base
        self._builtins = dict(builtins or {})
        self._plugins: dict[str, Plugin[ConfigT, ImplT]] = {}
        self._lock = threading.RLock()

    # -- registering ---------------------------------------------------------------------

    def register(self, config: type[ConfigT], implementation: ImplT) -> ImplT:
        """Register `implementation` for configs of `config`'s type; returns `implementation`
        so it can end a decorator."""
        if not (isinstance(config, type) and issubclass(config, self.base)):
            raise TypeError(f"a {self.kind} config model must subclass {self.base.__qualname__}")
        name = type_name_of(config)
        with self._lock:
            self._plugins[name] = Plugin(name, config, implementation)
        return implementation

    def unregister(self, type_name: str) -> None:
        """Forget a registered type (tests; a built-in is imported again when next asked for)."""
        with self._lock:
            self._plugins.pop(type_name, None)

    # -- looking up ----------------------------------------------------------------------

    def get(self, type_name: str) -> Plugin[ConfigT, ImplT]:
        """The plugin registered as `type_name`, importing a built-in one on first use."""
        with self._lock:
            plugin = self._plugins.get(type_name)
            module = self._builtins.get(type_name)
        if plugin is None and module is not None:
            # Not under the lock: the module registers itself while the import lock is held.
            importlib.import_module(module)
            with self._lock:
                plugin = self._plugins.get(type_name)
            if plugin is None:
                raise RuntimeError(f"{module} does not register the {self.kind} {type_name!r}")
        if plugin is None:
            raise UnknownPluginError(self.kind, type_name, self.types())
        return plugin

    def config_model(self, type_name: str) -> type[ConfigT]:
        return self.get(type_name).config

    def implementation(self, type_name: str) -> ImplT:
        return self.get(type_name).implementation

    def types(self) -> list[str]:
        """Every type a configuration may name: the built-ins and any registered since."""
        with self._lock:
            return sorted({*self._builtins, *self._plugins})

    def plugins(self) -> list[Plugin[ConfigT, ImplT]]:
        """Every plugin, built-ins imported (e.g. for a JSON schema of all of them)."""
        return [self.get(name) for name in self.types()]

    def __contains__(self, type_name: object) -> bool:
        return isinstance(type_name, str) and type_name in self.types()

    def __iter__(self) -> Iterator[str]:
        return iter(self.types())

    # -- configuration -------------------------------------------------------------------

    def validate(self, data: Any, context: Any = None) -> ConfigT:
        """A config of whichever registered type `data["type"]` names.

        Errors read like pydantic's own discriminated unions (`union_tag_invalid`,
        `union_tag_not_found`), so configuration error reports stay as they are; the chosen
        model's own errors keep their locations below this value.
        """
        if isinstance(data, self.base):
            return data  # already built (a default, a model_copy)
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise PydanticKnownError("model_attributes_type")
        type_name = data.get(TYPE_FIELD)
        if type_name is None:
            raise PydanticKnownError("union_tag_not_found", {"discriminator": f"'{TYPE_FIELD}'"})
        try:
            model = self.config_model(type_name) if isinstance(type_name, str) else None
        except UnknownPluginError:
            model = None
        if model is None:
            raise PydanticKnownError(
                "union_tag_invalid",
                {
                    "discriminator": f"'{TYPE_FIELD}'",
                    "tag": str(type_name),
                    "expected_tags": ", ".join(f"'{t}'" for t in self.types()),
                },
            )
        return model.model_validate(data, context=context)

    def model_for(self, data: Any) -> type[ConfigT] | None:
        """The config model `data` would be validated with, or None (error reports use it to
        list a plugin's keys)."""
        type_name = data.get(TYPE_FIELD) if isinstance(data, Mapping) else None
        if not isinstance(type_name, str):
            return None
        try:
            return self.config_model(type_name)
        except UnknownPluginError:
            return None

    def union(self) -> PluginUnion[ConfigT]:
        """Pydantic metadata for `Annotated[Base, registry.union()]`: a field holding any
        registered plugin's config, chosen by `type` when validated."""
        return PluginUnion(self)


class PluginUnion(Generic[ConfigT]):
    """The open, `type`-discriminated union of a registry's config models (see `union()`)."""

    def __init__(self, registry: PluginRegistry[ConfigT, Any]) -> None:
        self.registry = registry

    def model_for(self, data: Any) -> type[ConfigT] | None:
        return self.registry.model_for(data)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        registry = self.registry

        def validate(data: Any, info: core_schema.ValidationInfo) -> ConfigT:
            return registry.validate(data, info.context)

        # Serialised by each value's own model (pydantic infers it from the instance).
        return core_schema.with_info_plain_validator_function(validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Built when asked for, from every plugin registered by then.
        choices: dict[Any, core_schema.CoreSchema] = {
            plugin.type_name: plugin.config.__pydantic_core_schema__
            for plugin in self.registry.plugins()
        }
        return handler(core_schema.tagged_union_schema(choices, discriminator=TYPE_FIELD))
