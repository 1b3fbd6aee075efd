"""The tables: cameras with their zones and rules, alerts, and the alert outbox.

The outbox is two tables. `alert_events` records each lifecycle change of an alert (new,
update, end) in the same transaction as the alert itself; `deliveries` holds one row per event
and sink, so each sink is retried on its own and a sink that is down never holds up another.

Models are dataclasses (keyword-only) so a new row has its defaults, ids included, as soon as
it is built, before any flush: an alert id can go into a payload before the alert is written.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedAsDataclass, mapped_column, relationship

from atalaia.storage.types import JSONType, UTCDateTime, new_id, utcnow

# Every constraint gets a predictable name, which SQLite batch migrations need to find it again.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A BIGINT identity on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is an auto-increment rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AlertState(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EventType(enum.StrEnum):
    NEW = "new"
    UPDATE = "update"
    END = "end"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


def _str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR with a CHECK constraint, identical on both databases (no native PG enum, whose
    values cannot be changed inside a transaction)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(MappedAsDataclass, DeclarativeBase, kw_only=True, eq=False):
    """Declarative base; `eq=False` keeps identity equality, which the ORM session relies on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Camera(Base):
    """A camera as configured; `version` grows on every change so a reconciler can tell."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Holds the full URL, password included; the repr leaves it out so it cannot reach a log.
    source_url: Mapped[str] = mapped_column(Text, repr=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default_factory=dict, repr=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default_factory=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default_factory=utcnow)

    # The database cascades the delete (passive_deletes); the ORM cascade covers replacing them.
    zones: Mapped[list[Zone]] = relationship(
        default_factory=list,
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Zone.name",
        repr=False,
    )
    rules: Mapped[list[Rule]] = relationship(
        default_factory=list,
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Rule.name",
        repr=False,
    )


class Zone(Base):
    """A polygon on a camera's image; `relative` points are fractions of width and height.

    The unique (camera_id, name) index also serves lookups and cascades by camera.
    """

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("camera_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, init=False)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), init=False)
    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[list[list[float]]] = mapped_column(JSONType)
    relative: Mapped[bool] = mapped_column(Boolean, default=False)
    anchor: Mapped[str] = mapped_column(String(32), default="bottom_center")
    inertia: Mapped[int] = mapped_column(Integer, default=3)
    config: Mapped[dict[str, Any]] = mapped_column(default_factory=dict)


class Rule(Base):
    """A rule applied to a camera's tracks; `type` picks the rule plugin, `config` its options."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("camera_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, init=False)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), init=False)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default_factory=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Alert(Base):
    """An alert, from its first detection to its end.

    `camera_id` is deliberately not a foreign key: deleting a camera must not erase its alert
    history, nor the deliveries still owed to sinks.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(None, "camera_id", "start_time"),
        Index(None, "label", "start_time"),
        Index(None, "rule", "start_time"),
        Index(None, "zone", "start_time"),
        Index(None, "start_time"),
    )

    camera_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[float]] = mapped_column(JSONType)
    start_time: Mapped[datetime]
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default_factory=new_id)
    zone: Mapped[str | None] = mapped_column(String(100), default=None)
    track_id: Mapped[int | None] = mapped_column(Integer, default=None)
    state: Mapped[AlertState] = mapped_column(
        _str_enum(AlertState, "alert_state"), default=AlertState.ACTIVE
    )
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    snapshot_path: Mapped[str | None] = mapped_column(Text, default=None)
    clip_path: Mapped[str | None] = mapped_column(Text, default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(default_factory=dict)


class AlertEvent(Base):
    """One lifecycle event of an alert, as sinks receive it.

    `seq` is the delivery order. It never goes backwards and is never reused (AUTOINCREMENT on
    SQLite, a sequence on PostgreSQL), even after old rows are trimmed. `id` is the stable id
    sinks see, so a redelivered event can be recognised.
    """

    __tablename__ = "alert_events"
    __table_args__ = (Index(None, "camera_id", "seq"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, init=False)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    type: Mapped[EventType] = mapped_column(_str_enum(EventType, "event_type"))
    camera_id: Mapped[str] = mapped_column(String(64))
    id: Mapped[str] = mapped_column(String(32), unique=True, default_factory=new_id)
    payload: Mapped[dict[str, Any]] = mapped_column(default_factory=dict, repr=False)
    created_at: Mapped[datetime] = mapped_column(default_factory=utcnow)


class Delivery(Base):
    """The state of one event's delivery to one sink.

    `event_seq` and `camera_id` copy the event's values so the due-list query is served by an
    index on this table alone: oldest first, and one camera's events in order. The unique
    (event_id, sink) index also serves the cascade from `alert_events`.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "sink"),
        Index("ix_deliveries_due", "sink", "status", "event_seq"),
        Index("ix_deliveries_camera_head", "sink", "camera_id", "status", "event_seq"),
        Index("ix_deliveries_trim", "status", "delivered_at"),
        Index("ix_deliveries_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, init=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    camera_id: Mapped[str] = mapped_column(String(64))
    sink: Mapped[str] = mapped_column(String(100))
    next_attempt_at: Mapped[datetime]
    status: Mapped[DeliveryStatus] = mapped_column(
        _str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default_factory=utcnow)
    # The cluster node holding the row's current claim (None outside a cluster, and once the
    # attempt is recorded): a node seen dead gets its claims made due at once.
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)

    # Loaded on purpose by `due_deliveries`; anything else touching it unloaded is a bug.
    event: Mapped[AlertEvent] = relationship(lazy="raise", init=False, repr=False)


class SinkRef(Base):
    """What a sink's destination calls one of our alerts (e.g. the event id Frigate returned),
    kept so a later event of the alert (its end) can name it there, across restarts.

    A table of its own, not a key in `Alert.extra`: camera processes rewrite their alerts,
    and must not be able to overwrite what a sink learned meanwhile.
    """

    __tablename__ = "sink_refs"
    __table_args__ = (Index(None, "alert_id"),)

    sink: Mapped[str] = mapped_column(String(100), primary_key=True)
    alert_id: Mapped[str] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    remote_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default_factory=utcnow)


class Setting(Base):
    """A fact about the installation as a whole, shared by every node on the database: that
    the YAML cameras were seeded, the API token's hash.

    In the database rather than the data directory: nodes sharing one PostgreSQL, or a new
    data directory pointed at an existing database, must see the same first start.
    """

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Never a secret in clear: the token is kept only as its hash.
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default_factory=utcnow)


class ClusterNode(Base):
    """A node of a cluster (`cluster.enabled`): who it is, where it answers, how much it takes.

    `heartbeat_at` is the database's clock at the node's last renewal, so nodes never compare
    their own clocks; a node whose heartbeat is older than a lease is gone.
    """

    __tablename__ = "cluster_nodes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    advertise_url: Mapped[str | None] = mapped_column(Text, default=None)
    capacity: Mapped[float] = mapped_column(Float, default=1.0)
    version: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default_factory=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default_factory=utcnow)
    cameras: Mapped[int] = mapped_column(Integer, default=0)


class CameraLease(Base):
    """Which node runs a camera, until when, and the lease's generation.

    `generation` grows each time the camera changes hands; a camera process writes its alerts
    only while the lease still has the generation it was started under (fencing), so a node
    cut off from the others cannot record alerts for a camera that moved. Not a foreign key
    to `cameras`, and kept when the camera is deleted: a camera created again under the same
    id continues the generations, so an old process's generation can never come back.
    """

    __tablename__ = "camera_leases"
    __table_args__ = (Index(None, "owner"),)

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
