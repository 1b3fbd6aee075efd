"""Initial schema: cameras, zones, rules, alerts and the alert outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Types are spelled out here rather than imported from the models, so that later changes to the
models can never change what this migration does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(table: str, name: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("points", _json(), nullable=False),
        sa.Column("relative", sa.Boolean(), nullable=False),
        sa.Column("anchor", sa.String(32), nullable=False),
        sa.Column("inertia", sa.Integer(), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_zones_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("camera_id", "name", name=op.f("uq_zones_camera_id_name")),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_rules_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("camera_id", "name", name=op.f("uq_rules_camera_id_name")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("box", _json(), nullable=False),
        sa.Column("start_time", _time(), nullable=False),
        sa.Column("zone", sa.String(100), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("end_time", _time(), nullable=True),
        sa.Column("snapshot_path", sa.Text(), nullable=True),
        sa.Column("clip_path", sa.Text(), nullable=True),
        sa.Column("extra", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        _one_of("alerts", "alert_state", "state", ["active", "ended"]),
    )
    for columns in (["camera_id"], ["label"], ["rule"], ["zone"], []):
        name = "_".join([*columns, "start_time"])
        op.create_index(op.f(f"ix_alerts_{name}"), "alerts", [*columns, "start_time"])
    op.create_table(
        "alert_events",
        sa.Column("seq", _big_id(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_events_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_alert_events")),
        sa.UniqueConstraint("id", name=op.f("uq_alert_events_id")),
        _one_of("alert_events", "event_type", "type", ["new", "update", "end"]),
        # Never reuse a seq on SQLite, even once the newest rows are deleted.
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"])
    op.create_index(op.f("ix_alert_events_camera_id_seq"), "alert_events", ["camera_id", "seq"])
    op.create_table(
        "deliveries",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name=op.f("fk_deliveries_event_id_alert_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("event_id", "sink", name=op.f("uq_deliveries_event_id_sink")),
        _one_of("deliveries", "delivery_status", "status", ["pending", "delivered", "dead"]),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["sink", "status", "event_seq"])
    op.create_index(
        "ix_deliveries_camera_head", "deliveries", ["sink", "camera_id", "status", "event_seq"]
    )
    op.create_index("ix_deliveries_trim", "deliveries", ["status", "delivered_at"])


def downgrade() -> None:
    # Dropping a table drops its indexes too; children go before their parents.
    for table in ("deliveries", "alert_events", "alerts", "rules", "zones", "cameras"):
        op.drop_table(table)
