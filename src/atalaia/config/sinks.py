"""Where alerts are delivered. Each sink is a plugin chosen by its `type`; every delivery goes
through the durable outbox, so the retry settings live here, next to the sink they govern."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator

from atalaia.config.base import StrictModel


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return url.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
# What a routing key or sub-label template may name.
ROUTING_KEY_FIELDS = ("camera", "label", "type", "rule", "rule_type", "zone")
FINDFACE_FIELDS = ("fullframe", "token", "camera", "mf_selector", "timestamp")


class SinkBase(StrictModel):
    """Delivery policy shared by all sinks: retried with capped exponential backoff, then dead."""

    name: str | None = Field(None, description="unique sink name; defaults to the type")
    enabled: bool = True
    max_attempts: int = Field(20, ge=1, le=10000)
    backoff_initial: float = Field(1.0, gt=0, le=3600)
    backoff_max: float = Field(300.0, gt=0, le=86400)
    timeout: float = Field(10.0, gt=0, le=300)


class DatabaseSink(SinkBase):
    """Always on: the alerts already are rows; this sink confirms them and answers counts."""

    type: Literal["database"]


class MqttSink(SinkBase):
    type: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    client_id: str | None = None
    prefix: str = "atalaia"
    qos: Literal[0, 1, 2] = 1
    keepalive: int = Field(30, ge=5, le=3600)
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    snapshots: bool = True

    @field_validator("prefix", "discovery_prefix")
    @classmethod
    def _topic_prefix(cls, prefix: str) -> str:
        prefix = prefix.strip("/")
        if not prefix or any(c in prefix for c in "+#"):
            raise ValueError("expected a non-empty MQTT topic prefix without wildcards")
        return prefix


class AmqpSink(SinkBase):
    type: Literal["amqp"]
    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    exchange: str = "atalaia"
    routing_key: str = Field(
        "{camera}.{label}.{type}",
        description="template; fields: camera, label, type, rule, rule_type, zone",
    )
    mandatory: bool = Field(
        False, description="fail (and retry) while no queue is bound for the routing key"
    )

    @field_validator("routing_key")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        sample = dict.fromkeys(ROUTING_KEY_FIELDS, "x")
        try:
            template.format(**sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"unknown or malformed field in routing key template ({exc}); "
                f"expected any of: {', '.join(ROUTING_KEY_FIELDS)}"
            ) from None
        return template


class FrigateSink(SinkBase):
    type: Literal["frigate"]
    base_url: HttpUrl = "http://127.0.0.1:5000"
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    include_recording: bool = True
    duration: int | None = Field(
        None, ge=1, le=86400, description="unset: the Frigate event ends when our alert ends"
    )
    sub_label: str | None = Field(
        "{rule}", description="template; fields: camera, label, type, rule, rule_type, zone"
    )
    cameras: dict[str, str] = Field(
        {}, description="our camera id -> Frigate's camera name, where they differ"
    )


class FindfaceSink(SinkBase):
    type: Literal["findface"]
    base_url: HttpUrl
    token: SecretStr
    camera: str = Field(description="FindFace camera id; `{camera}` is replaced by ours")
    mf_selector: Literal["biggest", "all"] = "biggest"
    fields: dict[str, str] = {
        "fullframe": "fullframe",
        "token": "token",
        "camera": "camera",
        "mf_selector": "mf_selector",
        "timestamp": "timestamp",
    }
    max_connections: int = Field(10, ge=1, le=1000)
    labels: list[str] | None = Field(
        None, description="labels whose alerts are sent; unset: every alert with a snapshot"
    )

    @field_validator("fields")
    @classmethod
    def _all_fields_named(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = set(fields) - set(FINDFACE_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown FindFace field(s) {sorted(unknown)}; "
                f"expected any of: {', '.join(FINDFACE_FIELDS)}"
            )
        return {**dict(zip(FINDFACE_FIELDS, FINDFACE_FIELDS, strict=True)), **fields}


class WebhookSink(SinkBase):
    type: Literal["webhook"]
    url: HttpUrl
    secret: SecretStr | None = None
    signature_header: str = "X-Atalaia-Signature"
    timestamp_header: str = "X-Atalaia-Timestamp"


SinkConfig = Annotated[
    DatabaseSink | MqttSink | AmqpSink | FrigateSink | FindfaceSink | WebhookSink,
    Field(discriminator="type"),
]


class OutboxConfig(StrictModel):
    """How the main process works through the outbox: every sink has its own dispatcher.

    A new alert wakes the dispatchers at once; `poll_interval` only bounds how late a retry,
    a restart's leftovers or another node's work is picked up.
    """

    poll_interval: float = Field(1.0, gt=0, le=60)
    batch_size: int = Field(100, ge=1, le=10000)
    lease: float = Field(
        60.0, gt=0, le=3600, description="a claim older than this is taken again (crashed node)"
    )
    trim_after: float = Field(7 * 86400.0, gt=0, description="delivered rows kept this long (s)")
    trim_interval: float = Field(3600.0, gt=0, le=86400)
    stats_interval: float = Field(5.0, gt=0, le=3600, description="pending/dead counts refresh")
    probe_interval: float = Field(
        2.0, gt=0, le=300, description="while deliveries back off, how often the sink is probed (s)"
    )
