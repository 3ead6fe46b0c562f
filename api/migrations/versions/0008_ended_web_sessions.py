"""Web sessions signed out of: a signed-out cookie is refused, not just deleted from the
browser that signed out (a copy of it worked until it expired).

Revision ID: 0008_ended_web_sessions
Revises: 0007_one_first_decision
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ended_web_sessions"
down_revision = "0007_one_first_decision"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ended_web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("ended_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_ended_web_sessions_session_hash", "ended_web_sessions",
                    ["session_hash"])


def downgrade() -> None:
    op.drop_index("ix_ended_web_sessions_session_hash", "ended_web_sessions")
    op.drop_table("ended_web_sessions")
