"""Each person a scored case named is stored with that score: a referral scored again with
another household gave everyone in either household every score (and its explanation of
the others' records) in a subject access record.

Revision ID: 0010_referral_people_score
Revises: 0009_household_subject_role
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_referral_people_score"
down_revision = "0009_household_subject_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referral_people", sa.Column("score_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral_people") as batch:
        batch.drop_column("score_id")
