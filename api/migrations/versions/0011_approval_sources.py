"""An approval names the SHA-256 of every file its version's card and acceptance checks
read (`sources_sha256`, by path, with the run's metrics and parameters): it named only the
model folder, the fairness report and the HTML card, so an edited evaluation table moved
a threshold the board was shown and the approval still held. Approvals recorded before
keep NULL there and hold no longer (`api.approval_content.covers_too_little`).

Revision ID: 0011_approval_sources
Revises: 0010_referral_people_score
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_approval_sources"
down_revision = "0010_referral_people_score"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_approvals", sa.Column("sources_sha256", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_approvals") as batch:
        batch.drop_column("sources_sha256")
