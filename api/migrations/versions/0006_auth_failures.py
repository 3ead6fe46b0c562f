"""Failed authentications per key id and per client address (the lockouts of `api.auth_limits`).

Revision ID: 0006_auth_failures
Revises: 0005_score_presenting_need
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_auth_failures"
down_revision = "0005_score_presenting_need"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("auth_failures")
