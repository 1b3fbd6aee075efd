"""Deliveries name the node that claimed them, so a dead node's claims go back at once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("claimed_by", sa.String(64), nullable=True))
    op.create_index("ix_deliveries_claimed_by", "deliveries", ["claimed_by"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_claimed_by", table_name="deliveries")
    op.drop_column("deliveries", "claimed_by")
