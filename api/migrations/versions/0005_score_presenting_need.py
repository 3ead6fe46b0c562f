"""Scores name the referral's presenting need, so the triage queue can be filtered by it.

Revision ID: 0005_score_presenting_need
Revises: 0004_model_approvals
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_score_presenting_need"
down_revision = "0004_model_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("presenting_need", sa.String(64), nullable=True))
    # The queue reads the newest score of each referral: one index serves it.
    op.create_index("ix_scores_referral_latest", "scores", ["referral_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_scores_referral_latest", table_name="scores")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("presenting_need")
