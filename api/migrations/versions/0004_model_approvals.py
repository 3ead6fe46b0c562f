"""Model approvals: a governance user's approval or rejection of a version's exact content.

Revision ID: 0004_model_approvals
Revises: 0003_referral_people
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_model_approvals"
down_revision = "0003_referral_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False, index=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("waivers", sa.JSON, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("fairness_sha256", sa.String(64), nullable=True),
        sa.Column("card_sha256", sa.String(64), nullable=True),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name="ck_model_approvals_decision"),
    )


def downgrade() -> None:
    op.drop_table("model_approvals")
