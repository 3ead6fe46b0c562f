"""The people each scored referral was about (subject and household), for subject access.

Revision ID: 0003_referral_people
Revises: 0002_audit_entry_mac
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_referral_people"
down_revision = "0002_audit_entry_mac"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("referral_id", sa.String(100), nullable=False),
        sa.Column("person_id", sa.String(100), nullable=False),
        sa.Column("household_id", sa.String(100), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referral_people_referral_id", "referral_people", ["referral_id"])
    op.create_index("ix_referral_people_person_id", "referral_people", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_referral_people_person_id", "referral_people")
    op.drop_index("ix_referral_people_referral_id", "referral_people")
    op.drop_table("referral_people")
