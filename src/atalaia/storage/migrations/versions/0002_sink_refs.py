"""Sink references: what a sink's destination calls one of our alerts (Frigate's event id).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sink_refs",
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("remote_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_sink_refs_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sink", "alert_id", name=op.f("pk_sink_refs")),
    )
    op.create_index(op.f("ix_sink_refs_alert_id"), "sink_refs", ["alert_id"])


def downgrade() -> None:
    op.drop_table("sink_refs")
